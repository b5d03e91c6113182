import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import Server
import TestSupport
import Testing

/// `RequestDecoder` alone: bytes in, request parts or an error out, whole and split
/// at every position. `RequestDecoderChannelTests` has it in a channel.
@Suite(.blockingAllowed) struct RequestDecoderTests {
    /// What came out, with adjacent body pieces joined (they depend on how bytes arrive).
    struct Decoded: Equatable, CustomStringConvertible {
        enum Part: Equatable {
            case head(HTTPRequestHead)
            case body(String)
            case end(HTTPHeaders?)
        }
        var parts: [Part] = []
        var error: RequestDecodingError?
        var description: String { "\(parts) \(error.map { "\($0)" } ?? "no error")" }

        var heads: [HTTPRequestHead] { parts.compactMap { if case .head(let head) = $0 { head } else { nil } } }
        var body: String { parts.map { if case .body(let text) = $0 { text } else { "" } }.joined() }
        var ends: Int { parts.filter { if case .end = $0 { true } else { false } }.count }
    }

    /// Feeds `pieces` one after the other, as `ByteToMessageHandler` would.
    static func decode(_ pieces: [[UInt8]], limits: RequestDecoder.Limits = .init()) -> Decoded {
        let decoder = RequestDecoder(limits: limits)
        var buffer = ByteBuffer()
        var decoded = Decoded()
        for piece in pieces {
            buffer.writeBytes(piece)
            do {
                while case .continue = try decoder.step(buffer: &buffer, emit: { part in
                    switch part {
                    case .head(let head): decoded.parts.append(.head(head))
                    case .body(let bytes):
                        if case .body(let text)? = decoded.parts.last {
                            decoded.parts[decoded.parts.count - 1] = .body(text + String(buffer: bytes))
                        } else {
                            decoded.parts.append(.body(String(buffer: bytes)))
                        }
                    case .end(let trailers): decoded.parts.append(.end(trailers))
                    }
                }) {}
            } catch {
                decoded.error = error
                return decoded
            }
        }
        return decoded
    }

    /// Decodes `text` whole, checks that every split in two and a byte at a time give
    /// the same, and returns the whole result.
    static func decode(_ text: String, limits: RequestDecoder.Limits = .init(),
                       sourceLocation: SourceLocation = #_sourceLocation) -> Decoded {
        let bytes = Array(text.utf8)
        let whole = decode([bytes], limits: limits)
        for split in 1..<max(1, bytes.count) {
            let parts = decode([Array(bytes[..<split]), Array(bytes[split...])], limits: limits)
            #expect(parts == whole, "split at \(split)", sourceLocation: sourceLocation)
            if parts != whole { break }
        }
        #expect(decode(bytes.map { [$0] }, limits: limits) == whole, "a byte at a time", sourceLocation: sourceLocation)
        return whole
    }

    static let host = "Host: x\r\n"

    // MARK: - Request line

    @Test func aSimpleRequest() throws {
        let decoded = Self.decode("GET /hello?a=1 HTTP/1.1\r\nHost: x\r\nAccept:  */*  \r\n\r\n")
        #expect(decoded.error == nil)
        let head = try #require(decoded.heads.first)
        #expect(head.method == .GET && head.uri == "/hello?a=1" && head.version == .http1_1)
        #expect(head.headers["accept"] == ["*/*"] && head.headers["host"] == ["x"])
        #expect(decoded.parts.count == 2 && decoded.ends == 1)
    }

    @Test func http1xAbove1IsServedAs11AndOtherMajorsAre505() {
        #expect(Self.decode("GET / HTTP/1.2\r\n\(Self.host)\r\n").heads.first?.version == .http1_1)
        #expect(Self.decode("GET / HTTP/1.9\r\n\(Self.host)\r\n").heads.first?.version == .http1_1)
        #expect(Self.decode("GET / HTTP/1.0\r\n\r\n").heads.first?.version == .http1_0)
        for version in ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9"] {
            #expect(Self.decode("GET / \(version)\r\n\(Self.host)\r\n").error == .unsupportedVersion, "\(version)")
        }
        #expect(Self.decode("GET /\r\n\r\n").error == .unsupportedVersion)
        #expect(Self.decode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").error == .unsupportedVersion)
        for version in ["HTTP/1.10", "HTTP/1", "http/1.1", "HTTP/1.1 ", "HTTP/a.1"] {
            #expect(Self.decode("GET / \(version)\r\n\(Self.host)\r\n").error == .badRequestLine, "\(version)")
        }
    }

    @Test func methodsTheServerDoesNotKnowAre501AndBytesThatAreNoMethod400() {
        #expect(Self.decode("FROB / HTTP/1.1\r\n\(Self.host)\r\n").error == .unknownMethod)
        #expect(Self.decode("get / HTTP/1.1\r\n\(Self.host)\r\n").error == .unknownMethod)
        #expect(Self.decode("PURGE / HTTP/1.1\r\n\(Self.host)\r\n").heads.first?.method == .PURGE)
        #expect(Self.decode("M-SEARCH * HTTP/1.1\r\n\(Self.host)\r\n").heads.first?.method == .MSEARCH)
        #expect(Self.decode("QUERY / HTTP/1.1\r\n\(Self.host)\r\n").heads.first?.method == .RAW(value: "QUERY"))
        // Refused as soon as the bytes show it, without waiting for the rest of a head.
        #expect(Self.decode([Array("\u{1}\u{2}GARB".utf8)]).error == .notARequestLine)
        #expect(Self.decode([Array("GE(T".utf8)]).error == .notARequestLine)
        #expect(Self.decode(" GET / HTTP/1.1\r\n\r\n").error == .notARequestLine)
        #expect(Self.decode("GET\r\n\r\n").error == .notARequestLine)
        #expect(Self.decode("GET  / HTTP/1.1\r\n\r\n").error == .badRequestLine)
        #expect(Self.decode("GET /a\u{7f} HTTP/1.1\r\n\r\n").error == .badRequestLine)
        #expect(Self.decode("GET / HTTP/1.1\n\(Self.host)\r\n").error == .badRequestLine)
    }

    @Test func emptyLinesBeforeARequestAreSkipped() {
        let decoded = Self.decode("\r\n\r\nGET / HTTP/1.1\r\n\(Self.host)\r\n")
        #expect(decoded.error == nil && decoded.heads.count == 1)
    }

    // MARK: - Fields

    @Test func malformedFieldLinesAre400() {
        for line in ["Host : x", "Host\t: x", ": x", "Ho(st: x", "NoColon", "X: a\u{0}b", "X: a\rb", "X: a\u{7f}", "X: \u{1b}"] {
            #expect(Self.decode("GET / HTTP/1.1\r\n\(line)\r\n\r\n").error == .badField, "\(line.debugDescription)")
        }
        // obs-fold, and lines ended by a bare LF.
        #expect(Self.decode("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n").error == .badField)
        #expect(Self.decode("GET / HTTP/1.1\r\nX: a\n\r\n").error == .badField)
        #expect(Self.decode("GET / HTTP/1.1\r\nX: a\r\n\n").error == .badField)
    }

    @Test func valuesKeepInnerWhitespaceAndHighBytes() {
        let decoded = Self.decode("GET / HTTP/1.1\r\nX:\ta \t b\t\r\nY:\r\nZ: caf\u{e9}\r\n\r\n")
        #expect(decoded.heads.first?.headers["x"] == ["a \t b"])
        #expect(decoded.heads.first?.headers["y"] == [""])
        #expect(decoded.heads.first?.headers["z"] == ["caf\u{e9}"])
    }

    @Test func theLimitsGive414And431WhereverTheBytesAreSplit() {
        let limits = RequestDecoder.Limits(requestLine: 64, head: 256, chunkLine: 16)
        #expect(Self.decode("GET /\(String(repeating: "a", count: 70)) HTTP/1.1\r\n\r\n", limits: limits).error == .requestLineTooLong)
        #expect(Self.decode("GET /\(String(repeating: "a", count: 40)) HTTP/1.1\r\n\r\n", limits: limits).error == nil)
        #expect(Self.decode("GET / HTTP/1.1\r\nX: \(String(repeating: "b", count: 300))\r\n\r\n", limits: limits).error == .headTooLarge)
        // An incomplete head over the limits is refused before it ends.
        #expect(Self.decode([Array(String(repeating: "A", count: 100).utf8)], limits: limits).error == .requestLineTooLong)
        #expect(Self.decode([Array("GET / HTTP/1.1\r\nX: \(String(repeating: "b", count: 300))".utf8)], limits: limits).error == .headTooLarge)
        let defaults = Self.decode([Array("GET / HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n".utf8)])
        #expect(defaults.error == .headTooLarge)
    }

    // MARK: - Framing

    @Test func transferEncodingIsAListWhoseEmptyElementsAreSkipped() {
        let body = "5\r\nhello\r\n0\r\n\r\n"
        for value in ["chunked", "chunked,", ", chunked", "chunked , ", " ,, Chunked", "gzip, chunked"] {
            let decoded = Self.decode("POST / HTTP/1.1\r\n\(Self.host)Transfer-Encoding: \(value)\r\n\r\n\(body)")
            #expect(decoded.error == nil && decoded.body == "hello" && decoded.ends == 1, "\(value): \(decoded)")
        }
        let twoLines = Self.decode("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n\(body)")
        #expect(twoLines.body == "hello")
        for value in ["", " ", ",", "chunked, gzip", "gzip", "chunkedx"] {
            let decoded = Self.decode("POST / HTTP/1.1\r\n\(Self.host)Transfer-Encoding: \(value)\r\n\r\n\(body)")
            #expect(decoded.error == .badTransferEncoding, "\(value.debugDescription)")
        }
        let both = Self.decode("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n\(body)")
        #expect(both.error == .lengthAndEncoding)
    }

    @Test func contentLengthIsDigitsWithOptionalWhitespaceIn63Bits() {
        let spaced = Self.decode("POST / HTTP/1.1\r\nContent-Length: \t5 \r\n\r\nhelloGET / HTTP/1.1\r\n\r\n")
        #expect(spaced.body == "hello" && spaced.heads.count == 2 && spaced.ends == 2)
        #expect(Self.decode("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").ends == 1)
        let largest = Self.decode("POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\nab")
        #expect(largest.error == nil && largest.body == "ab" && largest.ends == 0)
        for value in ["99999999999999999999", "9223372036854775808", "-1", "+5", "5 5", "5,5", "0x5", ""] {
            #expect(Self.decode("POST / HTTP/1.1\r\nContent-Length: \(value)\r\n\r\n").error == .badContentLength, "\(value)")
        }
        #expect(Self.decode("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello").error == .badContentLength)
    }

    @Test func aBodyIsPassedOnAsItArrives() {
        var pieces: [String] = []
        let decoder = RequestDecoder()
        var buffer = ByteBuffer(string: "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        for more in ["", "defg", "hij"] {
            buffer.writeString(more)
            while case .continue? = try? decoder.step(buffer: &buffer, emit: { part in
                if case .body(let bytes) = part { pieces.append(String(buffer: bytes)) }
            }) {}
        }
        #expect(pieces == ["abc", "defg", "hij"])
    }

    // MARK: - Chunked bodies

    @Test func chunkExtensionsMayHaveWhitespaceAroundTheirSeparators() {
        for ext in ["5 ; a=b", "5;a = b", "5\t;\ta\t=\tb", "5;a", "5;a;b=c", "5;a=\"q \\\" ;x\"", "5 "] {
            let decoded = Self.decode("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\(ext)\r\nhello\r\n0 ; last\r\n\r\n")
            #expect(decoded.error == nil && decoded.body == "hello" && decoded.ends == 1, "\(ext.debugDescription): \(decoded)")
        }
        for ext in ["5;", "5;=b", "5;a=", "5 ;a=b c", "5;a=\"open", "5;a=\u{1}", "5 6", ";a", "", "5\r"] {
            let decoded = Self.decode("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\(ext)\r\nhello\r\n0\r\n\r\n")
            #expect(decoded.error == .badChunk, "\(ext.debugDescription): \(decoded)")
        }
    }

    @Test func chunkSizesAreCheckedHexWithinSixteenDigits() {
        let head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        for size in ["ffffffffffffffffff", "ffffffffffffffff", "8000000000000000", "00000000000000005", "g", "-1", "0x5"] {
            #expect(Self.decode("\(head)\(size)\r\nhello\r\n0\r\n\r\n").error == .badChunk, "\(size)")
        }
        let largest = Self.decode("\(head)7fffffffffffffff\r\nab")
        #expect(largest.error == nil && largest.body == "ab")
        #expect(Self.decode("\(head)A\r\n0123456789\r\n0\r\n\r\n").body == "0123456789")
    }

    @Test func chunkLinesEndInCRLFExactly() {
        let head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(Self.decode("\(head)5\nhello\r\n0\r\n\r\n").error == .badChunk)
        #expect(Self.decode("\(head)5\r\nhello\n0\r\n\r\n").error == .badChunk)
        #expect(Self.decode("\(head)5\r\nhelloX\r\n0\r\n\r\n").error == .badChunk)
        #expect(Self.decode("\(head)5\r\nhello\r\n0\r\n\n").error == .badField)
        let limits = RequestDecoder.Limits(requestLine: 64, head: 256, chunkLine: 16)
        #expect(Self.decode("\(head)5;\(String(repeating: "a", count: 20))\r\nhello\r\n0\r\n\r\n", limits: limits).error == .badChunk)
        #expect(Self.decode([Array("\(head)5;\(String(repeating: "a", count: 20))".utf8)], limits: limits).error == .badChunk)
    }

    @Test func trailersArePassedWithTheEnd() {
        let decoded = Self.decode("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\nGET / HTTP/1.1\r\n\r\n")
        #expect(decoded.error == nil && decoded.body == "abc" && decoded.heads.count == 2)
        #expect(decoded.parts[2] == .end(HTTPHeaders([("X-Sum", "1"), ("Y", "2")])))
        #expect(Self.decode("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX : 1\r\n\r\n").error == .badField)
    }

    // MARK: - The connection

    @Test func pipelinedRequestsComeOutInOrder() {
        let decoded = Self.decode("GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiPOST /c HTTP/1.1\r\n"
                                  + "Transfer-Encoding: chunked\r\n\r\n2\r\nyo\r\n0\r\n\r\nGET /d HTTP/1.0\r\n\r\n")
        #expect(decoded.error == nil)
        #expect(decoded.heads.map(\.uri) == ["/a", "/b", "/c", "/d"] && decoded.ends == 4 && decoded.body == "hiyo")
    }

    @Test func bytesAfterARequestThatClosesAreAnError() {
        #expect(Self.decode("GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n").error == .dataAfterClose)
        #expect(Self.decode("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n").error == .dataAfterClose)
        #expect(Self.decode("GET / HTTP/1.1\r\nConnection: close\r\n\r\n\r\n").error == nil)
        #expect(Self.decode("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n").heads.count == 2)
    }

    @Test func nothingIsDecodedAfterAnUpgradeRequest() {
        let upgrade = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n"
        let decoded = Self.decode(upgrade + "\u{81}\u{80}garbage")
        #expect(decoded.error == nil && decoded.heads.count == 1 && decoded.ends == 1)
        let connect = Self.decode("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n\u{16}\u{3}")
        #expect(connect.error == nil && connect.heads.count == 1)
        // Upgrade not named in Connection: the next request is HTTP.
        #expect(Self.decode("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET / HTTP/1.1\r\n\r\n").heads.count == 2)
    }

    @Test func theErrorsMapToTheStatusesNIOsDecoderGave() {
        let status = { (error: RequestDecodingError) in HTTPConnectionStateMachine.status(for: error.parserError).code }
        #expect(status(.notARequestLine) == 400 && status(.badRequestLine) == 400 && status(.badField) == 400)
        #expect(status(.unknownMethod) == 501 && status(.unsupportedVersion) == 505)
        #expect(status(.requestLineTooLong) == 414 && status(.headTooLarge) == 431)
        #expect(status(.badContentLength) == 400 && status(.badTransferEncoding) == 400 && status(.lengthAndEncoding) == 400)
        #expect(status(.badChunk) == 400)
        #expect(RequestDecodingError.dataAfterClose.parserError == .closedConnection)
    }
}
