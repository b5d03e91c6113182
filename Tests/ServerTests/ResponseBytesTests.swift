import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import Server
import Testing

/// Responses as bytes, beside what NIO's encoder writes for the same head.
@Suite struct ResponseBytesTests {
    func nioBytes(_ head: HTTPResponseHead) throws -> String {
        var configuration = HTTPResponseEncoder.Configuration()
        configuration.automaticallySetFramingHeaders = false   // as the worker had it: framing is the handler's
        let channel = EmbeddedChannel(handler: HTTPResponseEncoder(configuration: configuration))
        try channel.writeOutbound(HTTPServerResponsePart.head(head))
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        _ = try channel.finish()
        return text
    }

    @Test(arguments: [100, 101, 200, 201, 204, 301, 304, 400, 404, 413, 418, 426, 431, 500, 503, 505, 299, 599])
    func statusLinesAreNIOs(code: Int) throws {
        for version in [HTTPVersion.http1_1, .http1_0] {
            var buffer = ByteBuffer()
            ResponseBytes.writeStatusLine(version: version, code: code, to: &buffer)
            buffer.writeStaticString("\r\n")
            let expected = try nioBytes(HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: code)))
            #expect(String(buffer: buffer) == expected)
        }
    }

    @Test func chunksAreSizedInHexAndAnEmptyPieceIsNotAChunk() {
        var buffer = ByteBuffer()
        ResponseBytes.writeChunk(ByteBuffer(string: String(repeating: "x", count: 300)), to: &buffer)
        ResponseBytes.writeChunk(ByteBuffer(), to: &buffer)
        #expect(String(buffer: buffer) == "12c\r\n" + String(repeating: "x", count: 300) + "\r\n")
    }
}
