import PulseControl

/// Which log lines to show: words match the text (all of them, any case),
/// `@web.2` keeps one source, `>=warning` keeps that level and above.
public struct LogFilter: Equatable, Sendable {
    public var words: [String] = []
    public var source: String?
    public var minimumLevel: Int?

    static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public init() {}

    public init(parsing text: String) {
        for token in text.split(separator: " ") {
            if token.hasPrefix("@"), token.count > 1 {
                source = String(token.dropFirst())
            } else if token.hasPrefix(">="), let level = Self.levels.firstIndex(of: token.dropFirst(2).lowercased()) {
                minimumLevel = level
            } else {
                words.append(token.lowercased())
            }
        }
    }

    public var isEmpty: Bool { words.isEmpty && source == nil && minimumLevel == nil }

    public var text: String {
        (words + [source.map { "@\($0)" }, minimumLevel.map { ">=\(Self.levels[$0])" }].compactMap { $0 }).joined(separator: " ")
    }

    public func matches(_ entry: LogEntry) -> Bool {
        if let source, entry.source != source { return false }
        if let minimumLevel, (Self.levels.firstIndex(of: entry.level) ?? 2) < minimumLevel { return false }
        let haystack = (entry.source + " " + entry.text).lowercased()
        return words.allSatisfy { haystack.contains($0) }
    }
}
