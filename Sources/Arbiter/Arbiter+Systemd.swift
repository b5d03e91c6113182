import Foundation

/// Readiness, reloads, status and watchdog for systemd (see `SystemdNotifier`).
extension Arbiter {
    /// Every service has its target of ready workers and nothing left to replace.
    var allServicesReady: Bool {
        monitors.allSatisfy { monitor in
            monitor.state == .running && monitor.replacement == nil && monitor.replacementQueue.isEmpty
                && monitor.workers.values.filter { $0.state == .ready }.count >= monitor.target
        }
    }

    func notifySystemd(now: Double) {
        guard systemd.isActive else { return }
        systemd.watchdog(now: now)
        switch systemdState {
        case .starting where allServicesReady, .reloading where allServicesReady:
            systemdState = .ready
            systemd.ready(status: statusLine())
        default:
            break
        }
    }

    /// A rolling reload or restart began: systemd shows `reloading` until it ends.
    func reloadStarted() {
        guard systemd.isActive, systemdState == .ready else { return }
        systemdState = .reloading
        systemd.reloading()
    }

    /// `web: 2/2 ready, 125 req/s; ds: 1/1 ready`
    func statusLine() -> String {
        monitors.map { monitor in
            let ready = monitor.workers.values.filter { $0.state == .ready }.count
            let rps = monitor.workers.values.reduce(0) { $0 + $1.rps }
            let state = monitor.state == .running ? "" : " (\(monitor.state.rawValue))"
            return "\(monitor.name): \(ready)/\(monitor.target) ready" + (monitor.auxiliary ? "" : String(format: ", %.0f req/s", rps)) + state
        }.joined(separator: "; ")
    }
}
