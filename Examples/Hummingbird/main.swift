// A Hummingbird app under pulse: `swift run --traits Hummingbird pulse-hummingbird-example`
// takes every `pulse` flag (-w 4, --thread-workers 20, --greenlet 200, ...).
#if Hummingbird
import Foundation
import Hummingbird
import HummingbirdWebSocket
import PulsarHummingbird

let router = Router(context: BasicWebSocketRequestContext.self)
router.get("hello") { _, _ in "Hello World!\n" }
router.get("block") { request, _ -> String in
    // Blocks its thread, as a blocking driver would: fine in thread mode.
    let ms = min(max(request.uri.queryParameters.get("ms", as: Int.self) ?? 100, 0), 60_000)
    usleep(UInt32(ms) * 1000)
    return "blocked \(ms) ms\n"
}
router.get("sleep") { request, _ -> String in
    let ms = min(max(request.uri.queryParameters.get("ms", as: Int.self) ?? 100, 0), 60_000)
    try await Task.sleep(for: .milliseconds(ms))
    return "slept \(ms) ms\n"
}
router.post("echo") { request, context -> Response in
    let body = try await request.body.collect(upTo: context.maxUploadSize)
    return Response(status: .ok, headers: [.contentType: request.headers[.contentType] ?? "application/octet-stream"],
                    body: .init(byteBuffer: body))
}
router.ws("ws/echo") { inbound, outbound, _ in
    for try await message in inbound.messages(maxSize: 1 << 20) {
        switch message {
        case .text(let text): try await outbound.write(.text(text))
        case .binary(let data): try await outbound.write(.binary(data))
        }
    }
}
if let address = ProcessInfo.processInfo.environment["PULSE_EXAMPLE_STANDALONE"] {
    // The same router under Hummingbird's own Application, one process: the peer
    // scripts/bench-frameworks measures pulse against.
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
        fatalError("PULSE_EXAMPLE_STANDALONE must be HOST:PORT (got '\(address)')")
    }
    let app = Application(router: router, server: .http1WebSocketUpgrade(webSocketRouter: router),
                          configuration: .init(address: .hostname(String(address[..<colon]), port: port)))
    try await app.runService()
} else {
    Pulsar.main(app: .hummingbird(router))
}
#else
print("pulse-hummingbird-example needs the Hummingbird trait: swift run --traits Hummingbird pulse-hummingbird-example")
#endif
