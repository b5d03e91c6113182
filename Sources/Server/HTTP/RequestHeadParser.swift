import NIOHTTP1

/// How a request's body is delimited (RFC 9112 6.3).
enum BodyFraming: Equatable {
    case none
    case length(Int)
    case chunked
}

/// A request head as `RequestDecoder` needs it: NIO's head, and what the framing
/// fields and `Connection` say.
struct ParsedHead {
    var head: HTTPRequestHead
    var framing: BodyFraming
    /// The connection stays open after this request (HTTP/1.1 without `close`,
    /// HTTP/1.0 with `keep-alive`).
    var keepAlive: Bool
    /// The request asks to switch protocols (`Upgrade` named in `Connection`) or is a
    /// CONNECT: nothing after it is HTTP.
    var upgrade: Bool
}

/// Parses a complete request head, request line through the empty line, in one
/// pass over its bytes (RFC 9112 2-6). Pure.
///
/// Strict where a disagreement with a proxy in front could smuggle a request: every
/// line ends in CRLF, no whitespace before a field's colon, no obs-fold, no control
/// characters in values. Lenient where RFC 9112 says a server may be: an HTTP/1.x
/// with x > 1 is served as HTTP/1.1, empty list elements in `Transfer-Encoding` are
/// skipped (RFC 9110 5.6.1).
enum RequestHeadParser {
    static func parse(_ bytes: UnsafeRawBufferPointer, fieldLines: Int) throws(RequestDecodingError) -> ParsedHead {
        var cursor = 0
        let line = try requestLine(bytes, cursor: &cursor)
        var fields: [(String, String)] = []
        fields.reserveCapacity(fieldLines)
        var framing = FramingFields()
        while true {
            guard cursor + 1 < bytes.count else { throw .badField }
            if bytes[cursor] == .cr {
                guard bytes[cursor + 1] == .lf else { throw .badField }
                break
            }
            let field = try fieldLine(bytes, cursor: &cursor)
            try framing.note(field, in: bytes)
            fields.append((string(bytes, field.name), string(bytes, field.value)))
        }
        let version = line.minor == 0 ? HTTPVersion.http1_0 : HTTPVersion.http1_1
        let head = HTTPRequestHead(version: version, method: line.method, uri: string(bytes, line.target),
                                   headers: HTTPHeaders(fields))
        let keepAlive = !framing.close && (line.minor > 0 || framing.keepAlive)
        let upgrade = (framing.upgradeField && framing.upgradeToken) || line.method == .CONNECT
        return ParsedHead(head: head, framing: try framing.framing(), keepAlive: keepAlive, upgrade: upgrade)
    }

    // MARK: - The request line

    struct RequestLine {
        var method: HTTPMethod
        var target: Range<Int>
        var minor: Int
    }

    /// `method SP request-target SP HTTP-version CRLF`. The method is judged last, so
    /// that `PRI * HTTP/2.0` gets 505 like any other HTTP/2 request.
    static func requestLine(_ bytes: UnsafeRawBufferPointer, cursor: inout Int) throws(RequestDecodingError) -> RequestLine {
        var index = 0
        while index < bytes.count, HTTPToken.isTokenCharacter(bytes[index]) { index += 1 }
        guard index > 0, index < bytes.count, bytes[index] == .space else { throw .notARequestLine }
        let method = 0..<index
        index += 1
        let targetStart = index
        while index < bytes.count, bytes[index] > .space, bytes[index] != 0x7F { index += 1 }
        guard index > targetStart, index < bytes.count else { throw .badRequestLine }
        let target = targetStart..<index
        if bytes[index] == .cr { throw .unsupportedVersion }   // HTTP/0.9: no version at all
        guard bytes[index] == .space else { throw .badRequestLine }
        index += 1
        // "HTTP/" DIGIT "." DIGIT CRLF
        guard bytes.count - index >= 10, bytes[index] == 0x48, bytes[index + 1] == 0x54, bytes[index + 2] == 0x54,
              bytes[index + 3] == 0x50, bytes[index + 4] == 0x2F, let major = digit(bytes[index + 5]),
              bytes[index + 6] == 0x2E, let minor = digit(bytes[index + 7]),
              bytes[index + 8] == .cr, bytes[index + 9] == .lf else { throw .badRequestLine }
        guard major == 1 else { throw .unsupportedVersion }
        guard let known = knownMethod(UnsafeRawBufferPointer(rebasing: bytes[method])) else { throw .unknownMethod }
        cursor = index + 10
        return RequestLine(method: known, target: target, minor: minor)
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= 0x30 && byte <= 0x39 ? Int(byte - 0x30) : nil
    }

    /// The methods llhttp knows, as NIO's decoder named them: any other token is 501.
    static let methods: [(String, HTTPMethod)] = [
        ("GET", .GET), ("POST", .POST), ("HEAD", .HEAD), ("PUT", .PUT), ("DELETE", .DELETE), ("OPTIONS", .OPTIONS),
        ("PATCH", .PATCH), ("CONNECT", .CONNECT), ("TRACE", .TRACE), ("COPY", .COPY), ("LOCK", .LOCK),
        ("MKCOL", .MKCOL), ("MOVE", .MOVE), ("PROPFIND", .PROPFIND), ("PROPPATCH", .PROPPATCH), ("SEARCH", .SEARCH),
        ("UNLOCK", .UNLOCK), ("BIND", .BIND), ("REBIND", .REBIND), ("UNBIND", .UNBIND), ("ACL", .ACL),
        ("REPORT", .REPORT), ("MKACTIVITY", .MKACTIVITY), ("CHECKOUT", .CHECKOUT), ("MERGE", .MERGE),
        ("M-SEARCH", .MSEARCH), ("NOTIFY", .NOTIFY), ("SUBSCRIBE", .SUBSCRIBE), ("UNSUBSCRIBE", .UNSUBSCRIBE),
        ("PURGE", .PURGE), ("MKCALENDAR", .MKCALENDAR), ("LINK", .LINK), ("UNLINK", .UNLINK),
        ("SOURCE", .RAW(value: "SOURCE")), ("QUERY", .RAW(value: "QUERY")),
    ]

    static func knownMethod(_ name: UnsafeRawBufferPointer) -> HTTPMethod? {
        // The two that nearly every request uses, without a look at the table.
        if name.count == 3, name[0] == 0x47, name[1] == 0x45, name[2] == 0x54 { return .GET }
        if name.count == 4, name[0] == 0x50, name[1] == 0x4F, name[2] == 0x53, name[3] == 0x54 { return .POST }
        for (spelling, method) in methods where spelling.utf8.count == name.count && spelling.utf8.elementsEqual(name) {
            return method
        }
        return nil
    }

    // MARK: - Field lines

    struct FieldLine {
        var name: Range<Int>
        var value: Range<Int>
    }

    /// `field-name ":" OWS field-value OWS CRLF`, from `cursor`, which it moves past the CRLF.
    static func fieldLine(_ bytes: UnsafeRawBufferPointer, cursor: inout Int) throws(RequestDecodingError) -> FieldLine {
        var index = cursor
        while index < bytes.count, HTTPToken.isTokenCharacter(bytes[index]) { index += 1 }
        // An empty name is also where obs-fold (a line starting with whitespace) lands.
        guard index > cursor, index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw .badField }
        let name = cursor..<index
        index += 1
        while index < bytes.count, bytes[index] == .space || bytes[index] == .tab { index += 1 }
        let valueStart = index
        var valueEnd = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte > .space, byte != 0x7F {
                index += 1
                valueEnd = index
            } else if byte == .space || byte == .tab {
                index += 1
            } else {
                break
            }
        }
        guard index + 1 < bytes.count, bytes[index] == .cr, bytes[index + 1] == .lf else { throw .badField }
        cursor = index + 2
        return FieldLine(name: name, value: valueStart..<valueEnd)
    }

    static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Whether `bytes[range]` spells `lowercase`, ignoring the case of ASCII letters.
    static func equalsCaseInsensitive(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            var offset = 0
            for index in range {
                let byte = bytes[index]
                let wanted = expected[offset]
                guard byte == wanted || (byte | 0x20 == wanted && wanted >= 0x61 && wanted <= 0x7A) else { return false }
                offset += 1
            }
            return true
        }
    }
}

extension UInt8 {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
}
