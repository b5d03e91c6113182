import PulseControl

/// A column of the workers table: its heading, width and how a worker fills it.
public enum WorkerColumn: String, Codable, Sendable, CaseIterable {
    case id, pid, state, mode, rps, requests, p99, threads, green, queue, ws, db, lag, rss, cpu, uptime, restarts
    /// Sparklines of the worker's history (the renderer draws them).
    case rpsTrend = "rps_trend", p99Trend = "p99_trend"

    /// Whether the renderer draws the column from the history rather than the status.
    var isTrend: Bool { self == .rpsTrend || self == .p99Trend }

    var title: String {
        switch self {
        case .id: "WORKER"
        case .ws: "WS"
        case .db: "DB"
        case .p99: "P99"
        case .cpu: "CPU%"
        case .lag: "LAG"
        case .rpsTrend: "RPS TREND"
        case .p99Trend: "P99 TREND"
        default: rawValue.uppercased()
        }
    }

    var width: Int {
        switch self {
        case .id: 9
        case .pid: 8
        case .state: 10
        case .mode: 11
        case .rps, .p99, .rss: 8
        case .requests: 9
        case .threads, .green, .db: 8
        case .queue, .ws, .cpu, .lag: 6
        case .uptime: 7
        case .restarts: 8
        case .rpsTrend, .p99Trend: 10
        }
    }

    var alignRight: Bool { ![.id, .state, .mode, .rpsTrend, .p99Trend].contains(self) }

    func value(_ worker: WorkerStatus) -> String {
        switch self {
        case .id: worker.name
        case .pid: String(worker.pid)
        case .state: worker.state.rawValue
        case .mode: worker.mode ?? "-"
        case .rps: Format.rate(worker.rps)
        case .requests: String(worker.requests)
        case .p99: worker.latencyMs.map { Format.millis($0.p99) } ?? "-"
        case .threads: worker.threads.map { "\($0.busy)/\($0.size)" } ?? "-"
        case .green: worker.green.map { "\($0.busy)/\($0.size)" } ?? "-"
        case .queue: worker.queue.map { String($0) } ?? "-"
        case .ws: worker.websockets.map { String($0) } ?? "-"
        case .db: worker.database.map { "\($0.inUse)/\($0.size)" } ?? "-"
        case .lag: Format.millis(worker.loopLagMs)
        case .rss: Format.bytes(worker.rssBytes)
        case .cpu: String(format: "%.1f", worker.cpuPercent)
        case .uptime: Format.duration(worker.uptimeS)
        case .restarts: String(worker.restarts)
        case .rpsTrend, .p99Trend: ""
        }
    }

    /// Whether a click on its heading sorts by it: the trends chart a history, not one figure.
    var sortable: Bool { !isTrend }

    /// Sorting: a key that orders workers for this column, larger first for numbers,
    /// the text's order for states and modes (booting and draining before ready).
    func sortKey(_ worker: WorkerStatus) -> (Double, String) {
        switch self {
        case .rps: (-worker.rps, "")
        case .requests: (-Double(worker.requests), "")
        case .p99: (-(worker.latencyMs?.p99 ?? 0), "")
        case .rss: (-Double(worker.rssBytes), "")
        case .cpu: (-worker.cpuPercent, "")
        case .uptime: (-worker.uptimeS, "")
        case .restarts: (-Double(worker.restarts), "")
        case .lag: (-worker.loopLagMs, "")
        case .queue: (-Double(worker.queue ?? 0), "")
        case .threads: (-Double(worker.threads?.busy ?? 0), "")
        case .green: (-Double(worker.green?.busy ?? 0), "")
        case .ws: (-Double(worker.websockets ?? 0), "")
        case .db: (-Double(worker.database?.inUse ?? 0), "")
        case .state: (0, worker.state.rawValue)
        case .mode: (0, worker.mode ?? "-")
        case .pid: (Double(worker.pid), "")
        case .id, .rpsTrend, .p99Trend: (Double(worker.id), "")
        }
    }
}

/// Numbers as the dashboard prints them: short and fixed in width.
public enum Format {
    public static func duration(_ seconds: Double) -> String {
        let total = Int(max(0, seconds))
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        if total < 86400 { return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m" }
        return "\(total / 86400)d\(String(format: "%02d", total % 86400 / 3600))h"
    }

    public static func bytes(_ count: Int) -> String {
        let units = ["B", "K", "M", "G", "T"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count)B" : String(format: value < 10 ? "%.1f%@" : "%.0f%@", value, units[unit])
    }

    public static func rate(_ value: Double) -> String {
        value >= 10_000 ? String(format: "%.0fk", value / 1000) : value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }

    public static func millis(_ value: Double) -> String {
        value >= 1000 ? String(format: "%.1fs", value / 1000) : value >= 10 ? String(format: "%.0fms", value) : String(format: "%.1fms", value)
    }
}

import Foundation
