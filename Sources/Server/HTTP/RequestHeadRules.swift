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

    func refusal(of head: HTTPRequestHead, checkLength: Bool) -> HTTPResponseStatus? {
        var bytes = 0
        for (name, value) in head.headers { bytes += name.utf8.count + value.utf8.count }
        if head.headers.count > maxHeaderCount || bytes > maxHeaderBytes { return .requestHeaderFieldsTooLarge }
        if head.uri.utf8.count > maxTargetLength { return .uriTooLong }
        if let framing = Self.transferEncodingRefusal(head) { return framing }
        if !Self.hostIsAcceptable(head) { return .badRequest }
        if checkLength, let length = head.headers.first(name: "content-length").flatMap(Self.contentLength), length > maxBody {
            return .payloadTooLarge
        }
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

    /// RFC 9112 3.2: an HTTP/1.1 request has exactly one Host, and it is a valid
    /// authority (or empty, for a target without one).
    static func hostIsAcceptable(_ head: HTTPRequestHead) -> Bool {
        let hosts = head.headers["host"]
        if head.version.major == 1, head.version.minor >= 1, hosts.count != 1 { return false }
        guard hosts.count <= 1 else { return false }
        return hosts.first.map(isValidHost) ?? true
    }

    static func isValidHost(_ value: String) -> Bool {
        let host = value.trimmingOWS()
        guard !host.isEmpty else { return true }
        var rest = Substring(host)
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return false }
            let literal = rest[rest.index(after: rest.startIndex)..<close]
            guard !literal.isEmpty, literal.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return false }
            rest = rest[rest.index(after: close)...]
        } else {
            let end = rest.firstIndex(of: ":") ?? rest.endIndex
            let name = rest[..<end]
            guard !name.isEmpty, name.unicodeScalars.allSatisfy(isRegNameCharacter) else { return false }
            rest = rest[end...]
        }
        guard !rest.isEmpty else { return true }
        guard rest.first == ":" else { return false }
        let port = rest.dropFirst()
        return port.count <= 5 && port.allSatisfy { $0.isASCII && $0.isNumber }
    }

    private static func isRegNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        guard scalar.isASCII else { return false }
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", ".", "_", "~", "%", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=":
            return true
        default:
            return false
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
