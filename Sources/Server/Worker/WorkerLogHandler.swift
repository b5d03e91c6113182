import Glibc
import Logging

/// Writes a worker's log lines to stderr as `[level] message`, one write per line,
/// so the arbiter can tell levels apart and lines never interleave.
struct WorkerLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let text = "[\(event.level.rawValue)] \(event.message)\n"
        text.utf8CString.withUnsafeBytes { bytes in _ = write(2, bytes.baseAddress, bytes.count - 1) }
    }
}
