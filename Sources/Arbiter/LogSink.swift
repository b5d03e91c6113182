import Foundation
import Mailbox
import Glibc
import Logging
import NIOConcurrencyHelpers
import PulseControl

/// One line of the merged log: the arbiter's own and every worker's output.
public struct LogLine: Sendable, Equatable {
    public let time: Date
    /// `arbiter`, or the worker's name such as `web.2`.
    public let source: String
    public let level: Logger.Level
    public let text: String

    public init(time: Date = Date(), source: String, level: Logger.Level, text: String) {
        self.time = time
        self.source = source
        self.level = level
        self.text = text
    }

    public var formatted: String {
        "\(LogLine.timestamp(time)) \(level.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) [\(source)] \(text)"
    }

    static func timestamp(_ date: Date) -> String { LogTime.iso8601(date) }

    /// Reads a line a worker wrote. Its log handler writes `[level] text`; anything
    /// else (a print, a crash report) takes the level of the stream it came on.
    public static func parse(workerOutput line: String, source: String, fallback: Logger.Level) -> LogLine {
        if line.hasPrefix("["), let close = line.firstIndex(of: "]"),
           let level = Logger.Level(rawValue: String(line[line.index(after: line.startIndex)..<close])) {
            var text = line[line.index(after: close)...]
            if text.first == " " { text = text.dropFirst() }
            return LogLine(source: source, level: level, text: String(text))
        }
        return LogLine(source: source, level: fallback, text: line)
    }
}

/// Where merged log lines go: stderr when no dashboard draws, `--log-file` when
/// given, and a ring of recent lines for whoever shows them. Thread-safe.
public final class LogSink: Sendable {
    private struct State {
        var recent: [LogLine] = []
        /// Sequence number of the newest line; the first line is 1.
        var sequence = 0
        var toStderr: Bool
        /// `--log-file`, opened for appending; -1 without one.
        var file: Int32 = -1
    }
    private let state: NIOLockedValueBox<State>
    public let minimumLevel: Logger.Level
    public let capacity: Int
    public let filePath: String?

    public init(toStderr: Bool, filePath: String?, minimumLevel: Logger.Level, capacity: Int = 2000) throws {
        self.state = NIOLockedValueBox(State(toStderr: toStderr, file: try filePath.map(Self.open) ?? -1))
        self.filePath = filePath
        self.minimumLevel = minimumLevel
        self.capacity = capacity
    }

    deinit {
        state.withLockedValue { if $0.file >= 0 { close($0.file) } }
    }

    /// Opens the log file for appending, creating it: every write lands at its end,
    /// whoever else appends, and a write error (a full disk) is not a crash.
    private static func open(_ path: String) throws -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LogFileError(path: path, reason: String(cString: strerror(errno))) }
        return fd
    }

    /// Opens `--log-file` again by its path (SIGUSR1): after logrotate moved the
    /// file away, lines go to a new file of that name. The old one is closed once
    /// the new one is open; if it cannot be, the old one is kept.
    public func reopen() throws {
        guard let filePath else { return }
        let fresh = try Self.open(filePath)
        state.withLockedValue { state in
            if state.file >= 0 { close(state.file) }
            state.file = fresh
        }
    }

    public func write(_ line: LogLine) {
        guard line.level >= minimumLevel else { return }
        let bytes = Array((line.formatted + "\n").utf8)
        state.withLockedValue { state in
            state.sequence += 1
            state.recent.append(line)
            if state.recent.count > capacity { state.recent.removeFirst(state.recent.count - capacity) }
            bytes.withUnsafeBytes { buffer in
                if state.toStderr { _ = Glibc.write(2, buffer.baseAddress, buffer.count) }
                if state.file >= 0 { _ = Glibc.write(state.file, buffer.baseAddress, buffer.count) }
            }
        }
    }

    /// The newest lines, oldest first.
    public func recent(_ count: Int) -> [LogLine] {
        state.withLockedValue { Array($0.recent.suffix(count)) }
    }

    /// Lines after sequence number `after` (at most `limit`, the newest), with their
    /// numbers: what a dashboard polling the control socket asks for.
    public func entries(after: Int, limit: Int = 1000) -> [LogEntry] {
        state.withLockedValue { state in
            let available = min(state.recent.count, max(0, state.sequence - after), limit)
            let first = state.sequence - available + 1
            return state.recent.suffix(available).enumerated().map { offset, line in
                LogEntry(seq: first + offset, time: line.time.timeIntervalSince1970, source: line.source,
                         level: line.level.rawValue, text: line.text)
            }
        }
    }

    /// Stops or resumes copying lines to stderr (the dashboard owns the terminal).
    public func setStderr(_ on: Bool) { state.withLockedValue { $0.toStderr = on } }
}

public struct LogFileError: Error, CustomStringConvertible {
    public let path: String
    public var reason = "cannot open it"
    public var description: String { "cannot open log file \(path): \(reason) (--log-file)" }
}

/// swift-log's handler for the arbiter's own messages: into the sink, source `arbiter`.
public struct SinkLogHandler: LogHandler {
    public let sink: LogSink
    public let source: String
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level

    public init(sink: LogSink, source: String = "arbiter") {
        self.sink = sink
        self.source = source
        self.logLevel = sink.minimumLevel
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        sink.write(LogLine(source: source, level: event.level, text: event.message.description))
    }
}
