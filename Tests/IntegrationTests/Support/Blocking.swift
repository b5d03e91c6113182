import Foundation

@_exported import TestSupport

/// Polls `condition` until it holds or `timeout` seconds pass.
func eventually(timeout: Double, every interval: Double = 0.1, _ what: String,
                _ condition: () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    var lastError: Error?
    while Date() < deadline {
        do {
            if try condition() { return }
        } catch {
            lastError = error
        }
        try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
    }
    throw TimedOut(what: what, lastError: lastError.map { "\($0)" })
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    let lastError: String?
    var description: String { "timed out waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? "") }
}

/// True while a process with this pid exists and is not a zombie.
func isRunning(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// What `ps` shows for a process: its argv.
func commandLine(of pid: Int32) -> String? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
    return String(decoding: data.split(separator: 0, omittingEmptySubsequences: true).first ?? [], as: UTF8.self)
}
