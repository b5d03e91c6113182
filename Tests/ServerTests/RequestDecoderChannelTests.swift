import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import Server
import TestSupport
import Testing

/// `RequestDecoder` in a channel, behind `ByteToMessageHandler`: what NIO's handlers
/// around it see (parts, `HTTPParserError`s, the end of the connection, a removal).
@Suite(.blockingAllowed) struct RequestDecoderChannelTests {
    static func channel(_ strategy: RemoveAfterUpgradeStrategy = .dropBytes) -> (EmbeddedChannel, ByteToMessageHandler<RequestDecoder>) {
        let handler = ByteToMessageHandler(RequestDecoder(leftOverBytesStrategy: strategy))
        return (EmbeddedChannel(handler: handler), handler)
    }

    @Test func partsComeOutAsNIOsDecoderGaveThem() throws {
        let (channel, _) = Self.channel()
        try channel.writeInbound(ByteBuffer(string: "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"))
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/a", headers: ["Host": "x", "Content-Length": "2"])
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == .head(head))
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == .body(ByteBuffer(string: "hi")))
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == .end(nil))
        #expect(try channel.finish().isClean)
    }

    @Test func errorsAreHTTPParserErrorsAndNothingIsDecodedAfterOne() throws {
        let (channel, _) = Self.channel()
        #expect(throws: HTTPParserError.invalidVersion) {
            try channel.writeInbound(ByteBuffer(string: "GET / HTTP/2.0\r\n\r\n"))
        }
        #expect(throws: (any Error).self) { try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n")) }
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == nil)
        _ = try? channel.finish()
    }

    @Test func theConnectionEndingMidRequestIsAnErrorAndBetweenRequestsIsNot() throws {
        let (midHead, _) = Self.channel()
        try midHead.writeInbound(ByteBuffer(string: "GET / HTT"))
        #expect(throws: HTTPParserError.invalidEOFState) { _ = try midHead.finish() }
        let (midBody, _) = Self.channel()
        try midBody.writeInbound(ByteBuffer(string: "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhe"))
        #expect(throws: HTTPParserError.invalidEOFState) { _ = try midBody.finish() }
        let (between, _) = Self.channel()
        try between.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n\r\n"))
        #expect(throws: Never.self) { _ = try between.finish() }
    }

    @Test func bytesBehindAnUpgradeAreForwardedWhenTheDecoderLeaves() throws {
        let (channel, handler) = Self.channel(.forwardBytes)
        try channel.writeInbound(ByteBuffer(string: "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nframes"))
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self).map { if case .head = $0 { true } else { false } } == true)
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == .end(nil))
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == nil)
        // On the embedded loop the removal completes once the loop runs.
        channel.pipeline.syncOperations.removeHandler(handler, promise: nil)
        channel.embeddedEventLoop.run()
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "frames"))
        _ = try? channel.finish()
    }
}
