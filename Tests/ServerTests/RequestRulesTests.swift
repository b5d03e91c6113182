import NIOCore
import NIOHTTP1
@testable import Server
import Testing

/// The request-head rules and target forms of RFC 9112, without a connection.
@Suite struct RequestHeadRulesTests {
    func head(_ headers: [(String, String)], version: HTTPVersion = .http1_1, uri: String = "/") -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: .POST, uri: uri, headers: HTTPHeaders(headers))
    }

    let rules = RequestHeadRules(maxHeaderCount: 5, maxHeaderBytes: 200, maxBody: 100, maxTargetLength: 50)

    @Test func transferEncodingFraming() {
        let host = ("Host", "a")
        #expect(rules.refusal(of: head([host, ("Transfer-Encoding", "chunked")]), checkLength: true) == nil)
        #expect(rules.refusal(of: head([host, ("Transfer-Encoding", ", chunked")]), checkLength: true) == nil)
        #expect(rules.refusal(of: head([host, ("Transfer-Encoding", "")]), checkLength: true) == .badRequest)
        #expect(rules.refusal(of: head([host, ("Transfer-Encoding", " \t ")]), checkLength: true) == .badRequest)
        #expect(rules.refusal(of: head([("Transfer-Encoding", "chunked")], version: .http1_0), checkLength: true) == .badRequest)
        #expect(rules.refusal(of: head([host, ("Transfer-Encoding", "gzip, chunked")]), checkLength: true) == .notImplemented)
        #expect(rules.refusal(of: head([host, ("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]), checkLength: true) == .notImplemented)
        #expect(rules.refusal(of: head([host, ("Transfer-Encoding", "chunked, gzip")]), checkLength: true) == .badRequest)
        #expect(rules.refusal(of: head([host, ("Transfer-Encoding", "chunked, chunked")]), checkLength: true) == .badRequest)
    }

    @Test func hostRules() {
        #expect(rules.refusal(of: head([]), checkLength: true) == .badRequest)
        #expect(rules.refusal(of: head([], version: .http1_0), checkLength: true) == nil)           // HTTP/1.0 may omit it
        #expect(rules.refusal(of: head([("Host", "a"), ("Host", "a")]), checkLength: true) == .badRequest)
        for valid in ["example.com", "example.com:8080", "[::1]", "[2001:db8::1]:443", "127.0.0.1:1", "", "a-b_c.d~e"] {
            #expect(RequestHeadRules.isValidHost(valid), "\(valid)")
        }
        for invalid in ["a b", "a/b", "a@b", "a:b", "a:123456", "[::1", "[]:80", "a?b", "a#b", "é.com", ":80"] {
            #expect(!RequestHeadRules.isValidHost(invalid), "\(invalid)")
        }
    }

    @Test func limitsOnTheTargetHeadersAndBody() {
        let host = ("Host", "a")
        #expect(rules.refusal(of: head([host], uri: "/" + String(repeating: "a", count: 50)), checkLength: true) == .uriTooLong)
        #expect(rules.refusal(of: head((1...6).map { ("X-\($0)", "v") }), checkLength: true) == .requestHeaderFieldsTooLarge)
        #expect(rules.refusal(of: head([host, ("Content-Length", "101")]), checkLength: true) == .payloadTooLarge)
        #expect(rules.refusal(of: head([host, ("Content-Length", "101")]), checkLength: false) == nil)
        #expect(rules.refusal(of: head([host, ("Content-Length", "100")]), checkLength: true) == nil)
    }

    @Test func contentLengthAllowsOptionalWhitespaceAndNothingElse() {
        #expect(RequestHeadRules.contentLength(" \t42 ") == 42)
        #expect(RequestHeadRules.contentLength("4 2") == nil)
        #expect(RequestHeadRules.contentLength("+42") == nil)
        #expect(RequestHeadRules.contentLength("99999999999999999999") == nil)
        #expect(RequestHeadRules.contentLength("") == nil)
    }

    @Test func targetsBecomeOriginForm() {
        #expect(RequestTarget.originForm("/a/b?c=d") == "/a/b?c=d")
        #expect(RequestTarget.originForm("/a#frag") == "/a")
        #expect(RequestTarget.originForm("http://host/a/b?x") == "/a/b?x")
        #expect(RequestTarget.originForm("HTTPS://host:443/a") == "/a")
        #expect(RequestTarget.originForm("http://host") == "/")
        #expect(RequestTarget.originForm("http://host?q=1") == "/?q=1")
        #expect(RequestTarget.originForm("http://host/a#f") == "/a")
    }

    @Test func parserErrorsMapToTheRightStatus() {
        #expect(HTTPConnectionStateMachine.status(for: .invalidMethod) == .notImplemented)
        #expect(HTTPConnectionStateMachine.status(for: .invalidVersion) == .httpVersionNotSupported)
        #expect(HTTPConnectionStateMachine.status(for: .headerOverflow) == .requestHeaderFieldsTooLarge)
        #expect(HTTPConnectionStateMachine.status(for: .invalidChunkSize) == .badRequest)
    }
}

/// UTF-8 as it arrives, close frames and the opening handshake of RFC 6455.
@Suite struct WebSocketRulesTests {
    @Test func utf8IsCheckedAcrossPieces() {
        let text = Array("κόσμε 🌍".utf8)
        var validator = UTF8Validator()
        let first = validator.feed(text[0..<1])
        #expect(first && !validator.isComplete)
        let second = validator.feed(text[1..<9])
        #expect(second)
        let third = validator.feed(text[9...])
        #expect(third && validator.isComplete)
        for bad: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF5], [0x80], [0xE0, 0x9F, 0x80], [0xFF]] {
            #expect(!UTF8Validator.isValid(bad), "\(bad)")
        }
        var early = UTF8Validator()
        let refused = early.feed([0x61, 0xF4, 0x90])
        #expect(!refused)   // U+110000 is refused at its second byte
        #expect(UTF8Validator.isValid([0xF4, 0x8F, 0xBF, 0xBF]) && UTF8Validator.isValid([0xEF, 0xBF, 0xBF]))
        #expect(!UTF8Validator.isValid([0xE2, 0x82]))
    }

    @Test func closeFramesAreJudged() {
        #expect(WebSocketCloseRules.judge(ByteBuffer()) == .valid(code: nil))
        #expect(WebSocketCloseRules.judge(ByteBuffer(bytes: [0x03])) == .protocolError)
        for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999] {
            var payload = ByteBuffer()
            payload.writeInteger(code)
            #expect(WebSocketCloseRules.judge(payload) == .valid(code: code), "\(code)")
        }
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            var payload = ByteBuffer()
            payload.writeInteger(code)
            #expect(WebSocketCloseRules.judge(payload) == .protocolError, "\(code)")
        }
        #expect(WebSocketCloseRules.judge(ByteBuffer(bytes: [0x03, 0xE8, 0xFF])) == .protocolError)
        #expect(WebSocketCloseRules.judge(ByteBuffer(bytes: [0x03, 0xE8] + Array("ciao".utf8))) == .valid(code: 1000))
    }

    func head(_ headers: [(String, String)], method: HTTPMethod = .GET, version: HTTPVersion = .http1_1) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: "/ws", headers: HTTPHeaders(headers))
    }

    @Test func theOpeningHandshakeIsJudged() {
        let good = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                    ("Sec-WebSocket-Version", "13")]
        #expect(WebSocketHandshake.judge(head(good)) == .upgrade)
        #expect(WebSocketHandshake.judge(head([("Host", "a")])) == .ordinary)
        #expect(WebSocketHandshake.judge(head(good, method: .POST)) == .refuse(.methodNotAllowed, [("Allow", "GET")]))
        #expect(WebSocketHandshake.judge(head(good, version: .http1_0)) == .refuse(.badRequest, []))
        let oldVersion = good.map { $0.0 == "Sec-WebSocket-Version" ? ($0.0, "8") : $0 }
        #expect(WebSocketHandshake.judge(head(oldVersion)) == .refuse(.upgradeRequired, WebSocketHandshake.versionHeaders))
        let shortKey = good.map { $0.0 == "Sec-WebSocket-Key" ? ($0.0, "c2hvcnQ=") : $0 }
        #expect(WebSocketHandshake.judge(head(shortKey)) == .refuse(.badRequest, []))
        #expect(WebSocketHandshake.judge(head(good.filter { $0.0 != "Sec-WebSocket-Key" })) == .refuse(.badRequest, []))
    }
}
