import PulseControl
import Dashboard
import Foundation

/// Status snapshots as the control socket sends them, for rendering tests.
enum Fixtures {
    static func worker(id: Int, pid: Int, rps: Double, p99: Double, state: String = "ready", mode: String = "thread",
                       restarts: Int = 0, cpu: Double = 1.5) -> String {
        """
        {"id": \(id), "name": "web.\(id)", "pid": \(pid), "state": "\(state)", "uptime_s": \(60 + id), "requests": \(id * 100),
         "status_classes": [0, \(id * 90), 0, \(id * 10), 0], "rps": \(rps), "inflight": \(id), "connections": 2,
         "bytes_in": 100, "bytes_out": 200, "last_heartbeat_ms": 300, "restarts": \(restarts), "rss_bytes": \(30 << 20),
         "cpu_percent": \(cpu), "loop_lag_ms": 0.4, "mode": "\(mode)", "threads": {"busy": \(id), "size": 10},
         "green": {"busy": 0, "size": 100}, "queue": 0, "websockets": \(id - 1),
         "latency_ms": {"p50": 1.5, "p90": 4.0, "p99": \(p99), "max": \(p99 + 5)}}
        """
    }

    static func status(workers: [String], mode: String = "thread", exits: String = "[]", state: String = "running") -> StatusSnapshot {
        let json = """
        {"arbiter": {"pid": 4242, "version": "0.1.0", "state": "running", "uptime_s": 3725, "control": "/tmp/c.sock"},
         "services": [{"name": "web", "binds": ["127.0.0.1:8060"], "urls": ["http://127.0.0.1:8060"],
                       "target_workers": \(workers.count), "mode": "\(mode)", "auxiliary": false, "live_workers": \(workers.count),
                       "state": "\(state)", "consecutive_failures": 0, "workers": [\(workers.joined(separator: ","))],
                       "recent_exits": \(exits)}]}
        """
        return try! ControlCodec.decode(StatusSnapshot.self, from: Array(json.utf8))
    }

    static let three = status(workers: [
        worker(id: 1, pid: 101, rps: 10, p99: 9),
        worker(id: 2, pid: 102, rps: 30, p99: 3, restarts: 2),
        worker(id: 3, pid: 103, rps: 20, p99: 12),
    ])

    /// `status` with the data store `ds` after its services: one worker, `ds.1`, pid 201.
    static func withStore(_ status: StatusSnapshot) -> StatusSnapshot {
        var status = status
        var store = status.services[0]
        store.name = "ds"
        store.auxiliary = true
        store.binds = ["127.0.0.1:6380"]
        store.targetWorkers = 1
        var worker = store.workers[0]
        worker.name = "ds.1"
        worker.pid = 201
        store.workers = [worker]
        status.services.append(store)
        return status
    }

    /// A header of four lines above the logs: room for three lines under the title.
    static let tallHeader = try! Layout.parse("""
        name: tall
        min_width: 40
        min_height: 10
        rows:
          - {height: 4, panes: [{pane: header}]}
          - {height: fill, panes: [{pane: logs}]}
        """, origin: "test")

    static func logs(_ texts: [(String, String, String)], from first: Int = 1) -> [LogEntry] {
        texts.enumerated().map { offset, entry in
            LogEntry(seq: first + offset, time: 1_800_000_000 + Double(offset), source: entry.0, level: entry.1, text: entry.2)
        }
    }

    static var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}
