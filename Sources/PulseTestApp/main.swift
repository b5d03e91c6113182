import Foundation
import HTTPTypes
import Pulsar

// Endpoints that misbehave on purpose, for the integration tests. Never part of `pulse`.
var router = Router()
router.get("/hello") { _ in .text("Hello World!\n") }
router.get("/pid") { _ in .text("\(getpid())\n") }
router.get("/sleep") { request in
    let ms = Int(request.query("ms") ?? "") ?? 100
    try await Execution.sleep(milliseconds: ms)
    return .text("slept \(ms) ms\n")
}
router.get("/mode") { _ in .text("\(Execution.mode?.rawValue ?? "none")\n") }
router.get("/ip") { request in .text("\(request.remoteAddress ?? "-")\n") }
router.post("/echo") { request in Response(body: request.body) }
router.post("/upload", body: .stream) { request in
    // Reads slowly on purpose, so the connection has to wait for the reader.
    var bytes = 0, pieces = 0
    for try await piece in request.bodyStream! {
        bytes += piece.readableBytes
        pieces += 1
        if pieces % 64 == 0 { try await Task.sleep(for: .milliseconds(1)) }
    }
    return .text("received \(bytes) bytes\n")
}
router.get("/stream") { request in
    let pieces = Int(request.query("n") ?? "") ?? 3
    return Response(headers: [.contentType: "text/plain"]) { writer in
        for index in 1...pieces {
            try await writer.write("piece \(index)\n")
            try await Execution.sleep(milliseconds: 20)
        }
    }
}
router.webSocket("/ws/echo", WebSocketHandlers(
    onOpen: { socket in try? await socket.send(text: "hello \(socket.request.query("name") ?? "stranger")") },
    onText: { socket, text in try? await socket.send(text: text) },
    onBinary: { socket, data in try? await socket.send(binary: data) }))

// Middleware order: the first added is outermost, so it sees the request first
// and the response last. Each appends its name to X-Trail.
router.use { request, next in
    var response = try await next(request)
    response.headers[HTTPField.Name("X-Trail")!] = "outer," + (response.headers[HTTPField.Name("X-Trail")!] ?? "")
    return response
}
router.use { request, next in
    var response = try await next(request)
    response.headers[HTTPField.Name("X-Trail")!] = "inner," + (response.headers[HTTPField.Name("X-Trail")!] ?? "")
    return response
}
router.group("/api") { api in
    api.use { request, next in
        guard request.headers[.authorization] == "Bearer test" else { return .text("no\n", status: .unauthorized) }
        return try await next(request)
    }
    api.get("/items/:id") { request in .text("item \(request.pathParameters["id"] ?? "?")\n") }
}
router.get("/block") { request in
    // Blocks the event loop itself: heartbeats stop, as with a buggy handler.
    let seconds = UInt32(request.query("s") ?? "") ?? 60
    _ = try await request.eventLoop.submit { sleep(seconds) }.get()
    return .text("unblocked\n")
}
/// Keeps `mb` more megabytes, every page touched, for the memory-recycling test.
nonisolated(unsafe) var held: [[UInt8]] = []
let heldLock = NSLock()
router.get("/hold") { request in
    let megabytes = min(max(Int(request.query("mb") ?? "") ?? 1, 0), 1024)
    heldLock.withLock { held.append([UInt8](repeating: 1, count: megabytes << 20)) }
    return .text("holding \(megabytes) MB more\n")
}
router.get("/exit") { request in
    exit(Int32(request.query("code") ?? "") ?? 4)
}
router.get("/crash") { _ in
    print("about to crash")
    fatalError("deliberate crash")
}
router.get("/fail") { _ in
    struct Deliberate: Error {}
    throw Deliberate()
}

let app = App(router: router) {
    // Fails to boot while the file named by PULSE_TEST_FAIL_BOOT_FILE exists.
    if let path = ProcessInfo.processInfo.environment["PULSE_TEST_FAIL_BOOT_FILE"],
       FileManager.default.fileExists(atPath: path) {
        struct BootFailure: Error, CustomStringConvertible { var description: String { "told to fail at boot" } }
        throw BootFailure()
    }
    if let ms = Int(ProcessInfo.processInfo.environment["PULSE_TEST_BOOT_DELAY_MS"] ?? "") {
        try await Task.sleep(for: .milliseconds(ms))
    }
}

// A second service, when asked for, to exercise several services under one arbiter.
var services = [Service(name: "web", app: app)]
if let bind = ProcessInfo.processInfo.environment["PULSE_TEST_SECOND_SERVICE_BIND"] {
    var second = Router()
    second.get("/hello") { _ in .text("Hello from api!\n") }
    services.append(Service(name: "api", binds: [try Bind(parsing: bind)], workers: 1, app: App(router: second)))
}
Pulsar.main(services)
