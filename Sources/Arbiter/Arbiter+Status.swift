import Glibc
import Mailbox
import PulseControl

/// The status projection: the monitors' tables as `pulse ctl status` and the
/// dashboard see them. A worker's heartbeat is carried whole (`report`).
extension Arbiter {
    func snapshot() -> StatusSnapshot {
        let now = Self.now()
        let arbiter = ArbiterStatus(pid: getpid(), version: pulsarVersion,
                                    state: lifecycle.isRunning ? "running" : "stopping", uptimeS: now - startedAt,
                                    control: configuration.controlPath, pidfile: configuration.pidfile,
                                    logFile: configuration.logFile, metrics: configuration.metricsBind?.url)
        return StatusSnapshot(arbiter: arbiter, services: monitors.indices.map { status(of: $0, now: now) })
    }

    private func status(of index: Int, now: Double) -> ServiceStatus {
        let monitor = monitors[index]
        return ServiceStatus(
            name: monitor.name,
            binds: monitor.binds.map(\.description),
            urls: monitor.binds.map { $0.url(scheme: configuration.services[index].scheme) },
            targetWorkers: monitor.target,
            mode: monitor.mode,
            auxiliary: monitor.auxiliary,
            liveWorkers: monitor.workers.values.filter(\.isLive).count,
            state: monitor.state,
            consecutiveFailures: monitor.policy.consecutiveFailures,
            nextSpawnInS: monitor.policy.nextSpawnAt > now ? monitor.policy.nextSpawnAt - now : nil,
            workers: monitor.orderedWorkers.map { worker in
                WorkerStatus(
                    id: worker.id, name: "\(monitor.name).\(worker.id)", pid: worker.pid ?? 0, state: worker.state,
                    intent: worker.intent, uptimeS: now - worker.spawnedAt, rps: worker.rps,
                    lastHeartbeatMs: Int((now - worker.lastHeartbeatAt) * 1000),
                    restarts: monitor.restartsBySlot[worker.id] ?? 0, rssBytes: worker.rssBytes,
                    cpuPercent: worker.cpuPercent, report: worker.report)
            },
            recentExits: monitor.recentExits.map {
                RecentExitStatus(worker: $0.worker, pid: $0.pid, reason: $0.reason, ageS: now - $0.at, failure: $0.isFailure,
                                 inflight: $0.inflight.isEmpty ? nil : $0.inflight.map(\.description))
            },
            reloads: monitor.reloads, exits: monitor.exitCounts, replacingForS: monitor.replacingSince.map { now - $0.at },
            autoscale: autoscaleStatus(of: index, now: now))
    }
}
