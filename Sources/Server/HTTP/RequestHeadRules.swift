import NIOHTTP1

/// What RFC 9112 and RFC 9110 say of a request head that NIO's parser leaves to the
/// server: the answer to refuse it with, before its body is read. Pure.
///
/// Framing first, since a disagreement with a proxy in front is a smuggling hole:
/// `Transfer-Encoding` on HTTP/1.0, an empty one, `chunked` not last or twice, and a
/// coding we do not implement (501). Then `Host` (exactly one, well formed, on
/// HTTP/1.1), the target's length (414), and the limits on headers (431) and on a
/// declared body (413).
struct RequestHeadRules: Sendable {
    var maxHeaderCount = 100
    var maxHeaderBytes = 16 * 1024
    var maxBody = 10 * 1024 * 1024
    /// Longest request target; the request line's length, in effect.
    var maxTargetLength = 8 * 1024

    /// One pass over the headers (this runs for every request).
    func refusal(of head: HTTPRequestHead, checkLength: Bool) -> HTTPResponseStatus? {
        var bytes = 0
        var hosts = 0
        var host: String?
        var transferEncoding = false
        var contentLength: String?
        for (name, value) in head.headers {
            bytes += name.utf8.count + value.utf8.count
            switch name.utf8.count {
            case 4 where name.equalsASCIICaseInsensitive("host"):
                hosts += 1
                host = value
            case 14 where name.equalsASCIICaseInsensitive("content-length"):
                contentLength = contentLength ?? value
            case 17 where name.equalsASCIICaseInsensitive("transfer-encoding"):
                transferEncoding = true
            default:
                break
            }
        }
        if head.headers.count > maxHeaderCount || bytes > maxHeaderBytes { return .requestHeaderFieldsTooLarge }
        if head.uri.utf8.count > maxTargetLength { return .uriTooLong }
        if head.version.major != 1 { return .httpVersionNotSupported }
        if transferEncoding, let framing = Self.transferEncodingRefusal(head) { return framing }
        let http11 = head.version.major == 1 && head.version.minor >= 1
        if (http11 && hosts != 1) || hosts > 1 || !(host.map(Self.isValidHost) ?? true) { return .badRequest }
        if checkLength, let length = contentLength.flatMap(Self.contentLength), length > maxBody { return .payloadTooLarge }
        return nil
    }

    /// The codings of `Transfer-Encoding`, in order, lowercased; empty list items dropped.
    static func transferCodings(_ head: HTTPRequestHead) -> [String]? {
        let fields = head.headers[canonicalForm: "transfer-encoding"]
        guard !head.headers["transfer-encoding"].isEmpty else { return nil }
        return fields.map { $0.trimmingOWS().lowercased() }.filter { !$0.isEmpty }
    }

    static func transferEncodingRefusal(_ head: HTTPRequestHead) -> HTTPResponseStatus? {
        guard let codings = transferCodings(head) else { return nil }
        if head.version.major == 1, head.version.minor == 0 { return .badRequest }   // RFC 9112 6.1: faulty framing
        guard codings.last == "chunked", codings.filter({ $0 == "chunked" }).count == 1 else { return .badRequest }
        return codings.count == 1 ? nil : .notImplemented
    }

    static func isValidHost(_ value: String) -> Bool {
        var value = value
        return value.withUTF8(isValidHost(bytes:))
    }

    /// One pass over the bytes: `[IP-literal]` or a reg-name, then an optional
    /// `:port` of at most five digits; whitespace around it is allowed, and empty is valid.
    static func isValidHost(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard start < end else { return true }
        var index = start
        if bytes[start] == UInt8(ascii: "[") {
            index += 1
            let literal = index
            while index < end, bytes[index] != UInt8(ascii: "]") {
                let byte = bytes[index]
                guard isHexDigit(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".") else { return false }
                index += 1
            }
            guard index < end, index > literal else { return false }
            index += 1
        } else {
            while index < end, bytes[index] != UInt8(ascii: ":") {
                guard isRegNameByte(bytes[index]) else { return false }
                index += 1
            }
            guard index > start else { return false }
        }
        guard index < end else { return true }
        guard bytes[index] == UInt8(ascii: ":") else { return false }
        let port = (index + 1)..<end
        return port.count <= 5 && port.allSatisfy { bytes[$0] >= UInt8(ascii: "0") && bytes[$0] <= UInt8(ascii: "9") }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "f"))
    }

    /// RFC 3986 reg-name (and IPv4): unreserved, pct-encoded and sub-delims characters.
    private static func isRegNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"), UInt8(ascii: "!"),
             UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"),
             UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
            true
        default:
            false
        }
    }

    /// A `Content-Length` value with optional whitespace around it; nil when it is
    /// not a number or does not fit 63 bits.
    static func contentLength(_ value: String) -> Int? {
        let digits = value.trimmingOWS()
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(digits)
    }
}

extension String {
    /// Equal to `lowercase`, an ASCII lowercase literal, ignoring the case of ASCII letters.
    func equalsASCIICaseInsensitive(_ lowercase: StaticString) -> Bool {
        guard utf8.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            let matches = { (byte: UInt8, wanted: UInt8) in byte == wanted || (byte | 0x20) == wanted && wanted >= 0x61 && wanted <= 0x7A }
            // Over the contiguous bytes when there are (a native string): no iterator.
            return utf8.withContiguousStorageIfAvailable { bytes in
                bytes.indices.allSatisfy { matches(bytes[$0], expected[$0]) }
            } ?? zip(utf8, expected).allSatisfy(matches)
        }
    }
}

extension StringProtocol {
    /// Without the optional whitespace (SP, HTAB) of RFC 9110 5.6.3 at either end.
    func trimmingOWS() -> String {
        let isOWS: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isOWS($0) }), let last = lastIndex(where: { !isOWS($0) }) else { return "" }
        return String(self[first...last])
    }
}

/// The request target as the app sees it (RFC 9112 3.2): origin-form (`/path?query`);
/// absolute-form (`http://host/path`) is served as its path, and a fragment is
/// never part of it.
enum RequestTarget {
    static func originForm(_ target: String) -> String {
        // The usual case, `/path?query` with no fragment, is returned as it is.
        let usual = target.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.first == UInt8(ascii: "/") && !bytes.contains(UInt8(ascii: "#"))
        }
        if usual ?? (target.utf8.first == UInt8(ascii: "/") && !target.utf8.contains(UInt8(ascii: "#"))) { return target }
        var target = Substring(target)
        if let hash = target.firstIndex(of: "#") { target = target[..<hash] }
        let lower = target.prefix(8).lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            let afterScheme = target[target.index(target.startIndex, offsetBy: lower.hasPrefix("http://") ? 7 : 8)...]
            guard let slash = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
            let rest = afterScheme[slash...]
            return rest.first == "?" ? "/" + rest : String(rest)
        }
        return String(target)
    }
}
