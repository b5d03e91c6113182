import Foundation
import Glibc

/// Resident memory and CPU time of a process, read from /proc (what psutil gave pulsar).
public struct ProcessStats: Equatable, Sendable {
    public var rssBytes: Int
    /// User plus system CPU time, in seconds.
    public var cpuSeconds: Double

    public init(rssBytes: Int, cpuSeconds: Double) {
        self.rssBytes = rssBytes
        self.cpuSeconds = cpuSeconds
    }

    static let clockTicks = Double(sysconf(Int32(_SC_CLK_TCK)))
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    public static func read(pid: Int32) -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return parse(stat: stat, pageSize: pageSize, clockTicks: clockTicks)
    }

    /// Parses a /proc/PID/stat line. The command name may hold spaces and
    /// parentheses, so fields are counted from the last ')'.
    public static func parse(stat: String, pageSize: Int, clockTicks: Double) -> ProcessStats? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name: state(0) ppid(1) ... utime(11) stime(12) ... rss(21)
        guard fields.count > 21, let utime = Double(fields[11]), let stime = Double(fields[12]),
              let rssPages = Int(fields[21]) else { return nil }
        return ProcessStats(rssBytes: rssPages * pageSize, cpuSeconds: (utime + stime) / clockTicks)
    }
}
