import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1

/// An HTTP response: status, headers and a body. `Content-Length` (or chunked
/// encoding for a streamed body), `Date`, `Server` and `Connection` are added by
/// the server.
public struct Response: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var body: Body
    /// With status 101: after this response the connection speaks another protocol,
    /// set up by the upgrader this makes (on the event loop). How a framework's
    /// WebSocket route (Vapor's `Response.upgrader`) takes over its connection.
    public var switchProtocols: (@Sendable () -> any HTTPServerProtocolUpgrader)?

    /// A body in full, or produced piece by piece (sent with chunked encoding).
    public enum Body: Sendable {
        case buffer(ByteBuffer)
        /// Called once, in the request's execution mode, with a writer for the pieces.
        case stream(@Sendable (BodyWriter) async throws -> Void)
    }

    public init(status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = .buffer(body)
    }

    /// A response whose body `produce` writes piece by piece.
    public init(status: HTTPResponse.Status = .ok, headers: HTTPFields = [:],
                stream produce: @escaping @Sendable (BodyWriter) async throws -> Void) {
        self.status = status
        self.headers = headers
        self.body = .stream(produce)
    }

    public static func text(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: textFields, body: ByteBuffer(string: text))
    }

    public static func html(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: htmlFields, body: ByteBuffer(string: html))
    }

    /// Built once: a response shares them until it changes its own copy.
    private static let textFields: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
    private static let htmlFields: HTTPFields = [.contentType: "text/html; charset=utf-8"]

    public static func json<Value: Encodable>(_ value: Value, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ByteBuffer(bytes: try encoder.encode(value)))
    }

    public static func bytes(_ bytes: some Sequence<UInt8>, contentType: String = "application/octet-stream",
                             status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: ByteBuffer(bytes: Array(bytes)))
    }

    /// The body's length when it is known up front.
    var knownLength: Int? {
        if case .buffer(let buffer) = body { return buffer.readableBytes }
        return nil
    }
}

/// Writes the pieces of a streamed response body. Each write waits until the
/// connection has taken the piece, so a slow client slows the producer down.
public struct BodyWriter: Sendable {
    let channel: Channel
    let onWrite: @Sendable (Int) -> Void

    public func write(_ buffer: ByteBuffer) async throws {
        guard buffer.readableBytes > 0 else { return }
        onWrite(buffer.readableBytes)
        try await channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer))).get()
    }

    public func write(_ text: String) async throws {
        try await write(ByteBuffer(string: text))
    }
}
