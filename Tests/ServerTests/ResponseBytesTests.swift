import HTTPTypes
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
            ResponseHead(version: version, code: code, fields: [:], framing: .none, connection: .asTheAppSaid, date: "-")
                .write(to: &buffer)
            let written = String(buffer: buffer)
            #expect(written.hasSuffix("\r\nDate: -\r\nServer: pulse\r\n\r\n"), "\(written)")
            // NIO writes the status line, then the empty line.
            let expected = try nioBytes(HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: code)))
            #expect(written.prefix(while: { $0 != "\r\n" }) + "\r\n\r\n" == expected)
        }
    }

    /// Every shape of head, written in one copy, is exactly as large as counted and
    /// reads as the fields would written one by one.
    @Test(arguments: [200, 201, 204, 304, 404, 418, 299])
    func responseHeadsAreWrittenAsCounted(code: Int) throws {
        let fieldSets: [HTTPFields] = [
            [:],
            [.contentType: "text/plain; charset=utf-8"],
            [.contentType: "x", .connection: "Upgrade", .contentLength: "99", HTTPField.Name("X-Long")!: String(repeating: "v", count: 300)],
        ]
        let framings: [ResponseHead.Framing] = [.none, .length(0), .length(13), .length(Int.max), .chunked]
        let connections: [ResponseHead.Connection] = [.close, .keepAlive, .asTheAppSaid]
        for version in [HTTPVersion.http1_1, .http1_0] {
            for fields in fieldSets {
                for framing in framings {
                    for connection in connections {
                        let head = ResponseHead(version: version, code: code, fields: fields, framing: framing,
                                                connection: connection, date: "Wed, 02 Dec 2026 00:00:00 GMT")
                        var buffer = ByteBuffer()
                        head.write(to: &buffer)
                        #expect(buffer.readableBytes == head.size)
                        let statusLine = try nioBytes(HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: code)))
                        var expected = String(statusLine.dropLast())   // "\r\n" is one Character: the empty line goes
                        func line(_ name: String, _ value: String) { expected += "\(name): \(value)\r\n" }
                        for field in fields where !ResponseHead.isServerField(field.name) { line(field.name.rawName, field.value) }
                        switch framing {
                        case .none: break
                        case .length(let length): line("Content-Length", String(length))
                        case .chunked: line("Transfer-Encoding", "chunked")
                        }
                        line("Date", "Wed, 02 Dec 2026 00:00:00 GMT")
                        line("Server", "pulse")
                        switch connection {
                        case .close: line("Connection", "close")
                        case .keepAlive: line("Connection", "keep-alive")
                        case .asTheAppSaid: if let value = fields[.connection] { line("Connection", value) }
                        }
                        expected += "\r\n"
                        #expect(String(buffer: buffer) == expected)
                    }
                }
            }
        }
    }

    @Test func chunksAreSizedInHexAndAnEmptyPieceIsNotAChunk() {
        var buffer = ByteBuffer()
        ResponseBytes.writeChunk(ByteBuffer(string: String(repeating: "x", count: 300)), to: &buffer)
        ResponseBytes.writeChunk(ByteBuffer(), to: &buffer)
        #expect(String(buffer: buffer) == "12c\r\n" + String(repeating: "x", count: 300) + "\r\n")
    }
}
