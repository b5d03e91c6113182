/// An address the arbiter listens on, as given to `-b/--bind`.
///
/// Accepted forms: `HOST:PORT`, `:PORT` (all interfaces), `[IPv6]:PORT`, a bare
/// `PORT` (loopback), and `unix:PATH`. Port `0` lets the OS choose.
public enum Bind: Hashable, Sendable, Codable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// The default of `pulse` when no `--bind` is given.
    public static let `default` = Bind.tcp(host: "127.0.0.1", port: 8060)

    /// Parses the text of a `--bind` value; the error says what is wrong with it.
    public init(parsing text: String) throws(BindParseError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard !path.isEmpty else { throw BindParseError(text, "a unix socket needs a path, as in unix:/tmp/pulse.sock") }
            self = .unix(path: path)
            return
        }
        if let port = Int(text) {
            self = .tcp(host: "127.0.0.1", port: try Self.validPort(port, in: text))
            return
        }
        guard let colon = text.lastIndex(of: ":") else {
            throw BindParseError(text, "expected HOST:PORT, :PORT or unix:PATH")
        }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = Int(portText) else { throw BindParseError(text, "'\(portText)' is not a port number") }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        self = .tcp(host: host, port: try Self.validPort(port, in: text))
    }

    private static func validPort(_ port: Int, in text: String) throws(BindParseError) -> Int {
        guard (0...65535).contains(port) else { throw BindParseError(text, "port \(port) is out of range 0-65535") }
        return port
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }

    /// A URL a person can paste into a browser or curl.
    public var url: String { url(scheme: "http") }

    /// The address as a URL of `scheme` (`redis` for the data store: what redis-cli
    /// and the clients take), with a wildcard host shown as loopback.
    public func url(scheme: String) -> String {
        switch self {
        case .tcp(let host, let port):
            let shown = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host
            return shown.contains(":") ? "\(scheme)://[\(shown)]:\(port)" : "\(scheme)://\(shown):\(port)"
        case .unix(let path): return "unix:\(path)"
        }
    }

    /// Whether a connection to `other` would reach this listener: the same path, or
    /// the same port where either host is a wildcard or both are the same.
    public func serves(_ other: Bind) -> Bool {
        switch (self, other) {
        case (.unix(let mine), .unix(let theirs)): return mine == theirs
        case (.tcp(let mine, let port), .tcp(let theirs, let otherPort)):
            let wildcards: Set<String> = ["0.0.0.0", "::", ""]
            return port == otherPort && (mine == theirs || wildcards.contains(mine) || wildcards.contains(theirs))
        default: return false
        }
    }
}

/// Why a `--bind` value was refused.
public struct BindParseError: Error, CustomStringConvertible, Sendable {
    public let text: String
    public let reason: String
    init(_ text: String, _ reason: String) { self.text = text; self.reason = reason }
    public var description: String { "invalid bind '\(text)': \(reason)" }
}
