import PulseControl

/// Which log lines to show: words match the text (all of them, any case),
/// `@web.2` keeps one source, `>=warning` keeps that level and above, and for
/// access lines `status>=500` (also `>`, `<=`, `<`, `=`) and `path=/db` (a prefix).
public struct LogFilter: Equatable, Sendable {
    public var words: [String] = []
    public var source: String?
    public var minimumLevel: Int?
    public var status: StatusCondition?
    public var pathPrefix: String?

    public struct StatusCondition: Equatable, Sendable {
        public enum Comparison: String, Sendable, CaseIterable {
            // Two-character operators first: `>=` must not read as `>` and `=500`.
            case atLeast = ">=", atMost = "<=", above = ">", below = "<", equal = "="
        }
        public var comparison: Comparison
        public var value: Int

        func holds(_ status: Int) -> Bool {
            switch comparison {
            case .atLeast: status >= value
            case .atMost: status <= value
            case .above: status > value
            case .below: status < value
            case .equal: status == value
            }
        }
    }

    static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public init() {}

    public init(parsing text: String) {
        for token in text.split(separator: " ") {
            if token.hasPrefix("@"), token.count > 1 {
                source = String(token.dropFirst())
            } else if token.hasPrefix(">="), let level = Self.levels.firstIndex(of: token.dropFirst(2).lowercased()) {
                minimumLevel = level
            } else if let condition = Self.statusCondition(token) {
                status = condition
            } else if token.lowercased().hasPrefix("path="), token.count > 5 {
                pathPrefix = String(token.dropFirst(5))
            } else {
                words.append(token.lowercased())
            }
        }
    }

    /// `status>=500`; a number that is not a status (over 3 digits) is a word.
    private static func statusCondition(_ token: Substring) -> StatusCondition? {
        guard token.lowercased().hasPrefix("status") else { return nil }
        let rest = token.dropFirst(6)
        for comparison in StatusCondition.Comparison.allCases where rest.hasPrefix(comparison.rawValue) {
            let digits = rest.dropFirst(comparison.rawValue.count)
            guard digits.count <= 3, let value = Int(digits) else { return nil }
            return StatusCondition(comparison: comparison, value: value)
        }
        return nil
    }

    public var isEmpty: Bool { words.isEmpty && source == nil && minimumLevel == nil && status == nil && pathPrefix == nil }

    public var text: String {
        let parts: [String?] = [source.map { "@\($0)" }, minimumLevel.map { ">=\(Self.levels[$0])" },
                                status.map { "status\($0.comparison.rawValue)\($0.value)" }, pathPrefix.map { "path=\($0)" }]
        return (words + parts.compactMap { $0 }).joined(separator: " ")
    }

    public func matches(_ entry: LogEntry) -> Bool {
        matches(entry, access: status == nil && pathPrefix == nil ? nil : AccessFields(parsing: entry.text))
    }

    /// `access`: the entry's access fields when already parsed.
    func matches(_ entry: LogEntry, access: AccessFields?) -> Bool {
        if let source, entry.source != source { return false }
        if let minimumLevel, (Self.levels.firstIndex(of: entry.level) ?? 2) < minimumLevel { return false }
        if status != nil || pathPrefix != nil {
            guard let access else { return false }
            if let status, !status.holds(access.status) { return false }
            if let pathPrefix, !access.path.hasPrefix(pathPrefix) { return false }
        }
        let haystack = (entry.source + " " + entry.text).lowercased()
        return words.allSatisfy { haystack.contains($0) }
    }
}

/// What the dashboard reads from an access line of the merged log, in the
/// `common`/`combined` form (`1.2.3.4 - - [date] "GET /x HTTP/1.1" 200 13`) or
/// the `json` form of `--access-log-format`.
public struct AccessFields: Equatable, Sendable {
    public var method: String
    public var path: String
    public var status: Int

    public init(method: String, path: String, status: Int) {
        self.method = method
        self.path = path
        self.status = status
    }

    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        if bytes.first == UInt8(ascii: "{") {
            guard let fields = Self.json(bytes) else { return nil }
            self = fields
        } else {
            guard let fields = Self.common(bytes) else { return nil }
            self = fields
        }
    }

    /// `... [date] "METHOD TARGET VERSION" STATUS BYTES`: the request is the first
    /// quoted part after the date; a quote inside it is backslashed.
    private static func common(_ bytes: [UInt8]) -> AccessFields? {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "[")), bytes.count > open + 3,
              let dateEnd = bytes[open...].firstIndex(of: UInt8(ascii: "]")), dateEnd + 2 < bytes.count,
              bytes[dateEnd + 1] == UInt8(ascii: " "), bytes[dateEnd + 2] == UInt8(ascii: "\"") else { return nil }
        var index = dateEnd + 3
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard index + 4 < bytes.count, bytes[index + 1] == UInt8(ascii: " ") else { return nil }
        let request = bytes[start..<index].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        let statusDigits = bytes[(index + 2)...].prefix { $0 != UInt8(ascii: " ") }
        // The target is what lies between the method and the version, spaces and all.
        guard request.count >= 3, statusDigits.count == 3,
              let status = Int(String(decoding: statusDigits, as: UTF8.self)) else { return nil }
        let target = request.dropFirst().dropLast().map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        return AccessFields(method: String(decoding: request[0], as: UTF8.self), path: target, status: status)
    }

    private struct JSONLine: Decodable {
        var method: String
        var path: String
        var status: Int
    }

    private static func json(_ bytes: [UInt8]) -> AccessFields? {
        guard let line = try? ControlCodec.decode(JSONLine.self, from: bytes) else { return nil }
        return AccessFields(method: line.method, path: line.path, status: line.status)
    }
}
