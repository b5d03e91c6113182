import PulseControl
import Dashboard
import Foundation

/// The human form of `pulse ctl status`.
enum StatusTable {
    static func render(_ status: StatusSnapshot) -> String {
        var out = "arbiter pid \(status.arbiter.pid)  pulse \(status.arbiter.version)  \(status.arbiter.state)  up \(Format.duration(status.arbiter.uptimeS))\n"
        for service in status.services {
            let autoscale = service.autoscale.map { "  autoscale \($0.min)-\($0.max)" } ?? ""
            out += "\nservice \(service.name)  \(service.state.rawValue)  \(service.mode.rawValue)  \(service.liveWorkers)/\(service.targetWorkers) workers\(autoscale)  \(service.binds.joined(separator: " "))\n"
            if let decision = service.autoscale?.lastDecision, let age = service.autoscale?.lastDecisionAgeS {
                out += "  autoscaled \(Format.duration(age)) ago: \(decision)\n"
            }
            let header = ["WORKER", "PID", "STATE", "MODE", "UPTIME", "REQUESTS", "RPS", "INFLIGHT", "P99", "THREADS", "GREEN",
                          "QUEUE", "WS", "HEARTBEAT", "RESTARTS", "RSS", "CPU%"]
            let rows = service.workers.map(row)
            out += table([header] + rows, indent: "  ")
            let unreachable = service.dataStoreUnreachable
            if !unreachable.isEmpty { out += "  data store unreachable from \(unreachable.joined(separator: ", "))\n" }
            for exit in service.recentExits.suffix(5) {
                out += "  \(Format.duration(exit.ageS)) ago: \(exit.worker) (pid \(exit.pid)) \(exit.reason)\n"
            }
        }
        return out
    }

    static func row(_ worker: WorkerStatus) -> [String] {
        let p99 = worker.latencyMs.map { String(format: "%.1fms", $0.p99) } ?? "-"
        let threads = worker.threads.map { "\($0.busy)/\($0.size)" } ?? "-"
        let green = worker.green.map { "\($0.busy)/\($0.size)" } ?? "-"
        let queue = worker.queue.map { String($0) } ?? "-"
        let sockets = worker.websockets.map { String($0) } ?? "-"
        var cells: [String] = [worker.name, String(worker.pid), worker.state.rawValue, worker.mode ?? "-"]
        cells += [Format.duration(worker.uptimeS), String(worker.requests), String(format: "%.1f", worker.rps), String(worker.inflight)]
        cells += [p99, threads, green, queue, sockets]
        cells += ["\(worker.lastHeartbeatMs)ms", String(worker.restarts), Format.bytes(worker.rssBytes), String(format: "%.1f", worker.cpuPercent)]
        return cells
    }

    static func table(_ rows: [[String]], indent: String) -> String {
        guard let first = rows.first else { return "" }
        let widths = first.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            indent + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }.joined()
    }
}
