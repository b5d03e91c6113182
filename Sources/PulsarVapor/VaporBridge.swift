#if Vapor
import HTTPTypes
import NIOCore
import NIOHTTP1
import PulsarRuntime
import Vapor

/// Converts between pulse's requests and responses and Vapor's.
enum VaporBridge {
    static func request(_ request: PulseRequest, application: Vapor.Application) -> Vapor.Request {
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headers.count)
        for field in request.headers { headers.add(name: field.name.rawName, value: field.value) }
        let incoming = Vapor.Request(
            application: application, method: HTTPMethod(rawValue: request.method.rawValue), url: URI(path: request.target),
            version: .http1_1, headersNoUpdate: headers,
            // Always a collected body, if empty: with none, a synchronous route would
            // "collect" it first and run in that future's callback, on the event loop.
            collectedBody: request.body,
            remoteAddress: request.remoteAddress.flatMap { try? SocketAddress(ipAddress: $0, port: 0) },
            logger: application.logger, byteBufferAllocator: application.allocator, on: request.eventLoop)
        incoming.storage[ExecutionPlaceKey.self] = ExecutionPlace(mode: Execution.mode, executor: Execution.executor)
        return incoming
    }

    /// Fields pulse writes itself (framing, `Date`, `Server`, `Connection`).
    private static let serverFields: Set<String> = ["content-length", "transfer-encoding", "date", "server", "connection"]

    static func response(_ response: Vapor.Response, for request: Vapor.Request, on loop: EventLoop) async throws -> PulseResponse {
        var fields = HTTPFields()
        for (name, value) in response.headers where !serverFields.contains(name.lowercased()) {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        // HTTPTypes traps on a code outside 0...999, which Vapor lets an app set.
        let code = Int(response.status.code)
        let status = (100...999).contains(code)
            ? HTTPResponse.Status(code: code, reasonPhrase: response.status.reasonPhrase) : .internalServerError
        if response.status == .switchingProtocols, let upgrader = response.upgrader {
            var switching = PulseResponse(status: status, headers: fields)
            switching.switchProtocols = { upgrader.applyUpgrade(req: request, res: response) }
            return switching
        }
        // A streamed body is collected: Vapor keeps the writer of its streams internal.
        let body: ByteBuffer
        if let buffer = response.body.buffer {
            body = buffer
        } else if response.body.count != 0 {
            body = try await response.body.collect(on: loop).get() ?? ByteBuffer()
        } else {
            body = ByteBuffer()
        }
        return PulseResponse(status: status, headers: fields, body: body)
    }
}
#endif
