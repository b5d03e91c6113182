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
    // Once more: a loaded machine may wake the loop only after the deadline.
    do {
        if try condition() { return }
    } catch {
        lastError = error
    }
    throw TimedOut(what: what, lastError: lastError.map { "\($0)" })
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    let lastError: String?
    var description: String { "timed out waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? "") }
}

/// True while a process with this pid exists and is not a zombie. A thread's id
/// is not a process: `/proc/TID/stat` answers for threads too, and with
/// pid_max at 32768 a busy machine hands an exited worker's pid to a thread soon.
func isRunning(_ pid: Int32) -> Bool { processIsRunning(pid) }

private func processIsRunning(_ pid: Int32) -> Bool {
    guard let fields = procStat(pid), fields.count > 19 else { return false }
    return fields[0] != "Z" && fields[0] != "X" && threadGroup(of: pid) == pid
}

/// One process, told apart from a later one given the same pid by its start time.
struct ProcessIdentity: CustomStringConvertible {
    let pid: Int32
    let startTime: Substring?

    init(_ pid: Int32) {
        self.pid = pid
        startTime = procStat(pid).flatMap { $0.count > 19 ? $0[19] : nil }
    }

    /// Still this process, alive and not a zombie.
    var isRunning: Bool {
        guard let startTime, let fields = procStat(pid), fields.count > 19 else { return false }
        return fields[19] == startTime && processIsRunning(pid)
    }

    var description: String { "pid \(pid) started at \(startTime ?? "?") ticks" }
}

/// `/proc/PID/stat` from the state on (field 3), split at spaces: past the
/// command's parentheses, which may hold spaces themselves.
private func procStat(_ pid: Int32) -> [Substring]? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(after: close)...].split(separator: " ")
}

private func threadGroup(of pid: Int32) -> Int32? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Tgid:") }) else { return nil }
    return Int32(line.dropFirst(5).trimmingCharacters(in: .whitespaces))
}

/// What `ps` shows for a process: its argv.
func commandLine(of pid: Int32) -> String? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
    return String(decoding: data.split(separator: 0, omittingEmptySubsequences: true).first ?? [], as: UTF8.self)
}
