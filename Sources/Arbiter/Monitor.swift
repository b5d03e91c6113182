import Mailbox
import PulseControl

/// What the arbiter should do next for one service.
public enum MonitorAction: Equatable, Sendable {
    /// Spawn worker `id`; when `replacing` is set, it takes that worker's place once ready.
    case spawn(id: Int, replacing: Int?)
    /// Ask worker `id` to drain and exit.
    case drain(id: Int, intent: ExitIntent)
}

/// The supervision logic of one service (pulsar's monitor): its worker table,
/// target count, rolling replacements and restart policy.
///
/// Pure: it decides, the arbiter acts. Times are monotonic seconds.
public struct Monitor: Sendable {
    public let name: String
    public let binds: [Bind]
    /// Runs for the other services (the data store): a fixed single process.
    public var auxiliary = false
    public private(set) var target: Int
    /// The execution mode new workers start in; a switch also reaches the running ones.
    public var mode: ExecutionMode
    public private(set) var state: ServiceState = .running
    public private(set) var policy: RestartPolicy
    public private(set) var workers: [Int: WorkerRecord] = [:]
    /// Workers waiting to be replaced one at a time, and why.
    public private(set) var replacementQueue: [(id: Int, intent: ExitIntent)] = []
    /// The replacement under way: `new` boots while `old` serves; the pair counts once.
    public private(set) var replacement: (old: Int, new: Int)?
    public private(set) var restartsBySlot: [Int: Int] = [:]
    public private(set) var recentExits: [RecentExit] = []
    /// Every worker exit since start, by kind: the intent it left with, or
    /// `crash` and `boot-failure` for exits nobody asked for.
    public private(set) var exitCounts: [String: Int] = [:]
    /// Rolling reloads and restarts asked for since start.
    public private(set) var reloads = 0
    /// The old worker being replaced now, and since when (across failed boots of
    /// its replacement): how long the reload has been stuck on it.
    public private(set) var replacingSince: (old: Int, at: Double)?
    /// Set while the service's worker count follows its load (`Monitor+Autoscale`).
    public internal(set) var autoscaler: Autoscaler?

    public init(name: String, binds: [Bind], target: Int, mode: ExecutionMode = .thread,
                policy: RestartPolicy = RestartPolicy()) {
        self.name = name
        self.binds = binds
        self.target = min(max(1, target), Self.maximumTarget)
        self.mode = mode
        self.policy = policy
    }

    /// Workers in id order.
    public var orderedWorkers: [WorkerRecord] { workers.values.sorted { $0.id < $1.id } }

    /// Workers counting toward the target: live ones, a pair of old and replacement counting once.
    var countedWorkers: Int { workers.values.filter { $0.isLive && $0.id != replacement?.old }.count }

    // MARK: - Planning

    /// The next steps toward the target: replacements one at a time, then scaling.
    public mutating func plan(now: Double) -> [MonitorAction] {
        guard state == .running else { return [] }
        if workers.values.contains(where: { $0.state == .ready }) { policy.noteHealthy(at: now) }
        if replacementQueue.isEmpty, replacement == nil { replacingSince = nil }
        let maySpawn = policy.maySpawn(at: now)

        var actions: [MonitorAction] = []
        if maySpawn, replacement == nil {
            while let next = replacementQueue.first {
                guard let old = workers[next.id], old.isLive else {
                    replacementQueue.removeFirst()
                    continue
                }
                let id = freeSlot()
                workers[id] = WorkerRecord(id: id, spawnedAt: now)
                replacement = (old: old.id, new: id)
                if replacingSince?.old != old.id { replacingSince = (old.id, now) }
                actions.append(.spawn(id: id, replacing: old.id))
                break
            }
        }

        let counted = countedWorkers
        if counted < target, maySpawn {
            // After a failure, probe with one worker per back-off step rather than a herd.
            let missing = policy.consecutiveFailures > 0 ? 1 : target - counted
            for _ in 0..<missing {
                let id = freeSlot()
                workers[id] = WorkerRecord(id: id, spawnedAt: now)
                actions.append(.spawn(id: id, replacing: nil))
            }
        } else if counted > target {
            for id in scaleDownVictims(count: counted - target) where workers[id]?.leave(intent: .scaleDown, killAt: nil) == true {
                replacementQueue.removeAll { $0.id == id }
                actions.append(.drain(id: id, intent: .scaleDown))
            }
        }
        return actions
    }

    /// Workers to drain when scaling down: those due for replacement first, then
    /// ones still booting, then the highest ids. Never half of a replacement pair.
    private func scaleDownVictims(count: Int) -> [Int] {
        let pair = [replacement?.old, replacement?.new]
        let candidates = workers.values.filter { $0.isLive && !pair.contains($0.id) }
        let queued = Set(replacementQueue.map(\.id))
        let ordered = candidates.sorted { a, b in
            let ka = (queued.contains(a.id) ? 0 : 1, a.wasReady ? 1 : 0, -a.id)
            let kb = (queued.contains(b.id) ? 0 : 1, b.wasReady ? 1 : 0, -b.id)
            return ka < kb
        }
        return ordered.prefix(count).map(\.id)
    }

    /// The lowest worker number not in use, so names stay short as workers come and go.
    private func freeSlot() -> Int {
        var id = 1
        while workers[id] != nil { id += 1 }
        return id
    }

    // MARK: - Events

    public mutating func workerSpawned(id: Int, pid: Int32) {
        _ = workers[id]?.spawned(pid: pid)
    }

    /// The worker said `ready`: if it replaces another, that one is drained now.
    public mutating func workerReady(id: Int, now: Double) -> [MonitorAction] {
        guard workers[id]?.becameReady(at: now) == true else { return [] }
        guard let pair = replacement, pair.new == id else { return [] }
        replacement = nil
        replacingSince = nil
        let intent = replacementQueue.first { $0.id == pair.old }?.intent ?? .reload
        replacementQueue.removeAll { $0.id == pair.old }
        guard workers[pair.old]?.isLive == true, workers[pair.old]?.leave(intent: intent, killAt: nil) == true else { return [] }
        return [.drain(id: pair.old, intent: intent)]
    }

    public mutating func workerHeartbeat(id: Int, report: WorkerReport, now: Double) {
        workers[id]?.heartbeat(report, at: now)
    }

    /// A resource sample; returns true when it makes the worker due for replacement
    /// for memory (`limit` bytes, 0 for none): over it for its allowed samples in a row.
    @discardableResult
    public mutating func workerResources(id: Int, rssBytes: Int, cpuPercent: Double, memoryLimit limit: Int = 0) -> Bool {
        guard var worker = workers[id] else { return false }
        worker.rssBytes = rssBytes
        worker.cpuPercent = cpuPercent
        worker.samplesOverMemory = limit > 0 && rssBytes > limit ? worker.samplesOverMemory + 1 : 0
        workers[id] = worker
        guard worker.samplesOverMemory == worker.memorySamplesAllowed, worker.isLive, worker.state == .ready,
              !replacementQueue.contains(where: { $0.id == id }), replacement?.old != id else { return false }
        // Replaced like a reload's worker: the new one ready first.
        replacementQueue.insert((id, .memory), at: 0)
        return true
    }

    /// The arbiter decided to end a worker without a drain (timeout, operator kill),
    /// or asked it to drain with a deadline of its own (shutdown).
    public mutating func markKilled(id: Int, intent: ExitIntent, killAt: Double?) {
        guard workers[id]?.leave(intent: intent, killAt: killAt) == true else { return }
        detachReplacement(of: id)
    }

    public mutating func setKillDeadline(id: Int, at deadline: Double) {
        _ = workers[id]?.setKillDeadline(deadline)
    }

    /// A worker process ended: classify it, forget it, and account for the policy.
    public mutating func workerExited(id: Int, termination: Termination, now: Double,
                                      timeoutSeconds: Double, inflight: [InflightRequest] = []) -> WorkerExit? {
        guard let worker = workers.removeValue(forKey: id) else { return nil }
        let exit = WorkerExit.classify(termination, intent: worker.intent, wasReady: worker.wasReady,
                                       timeoutSeconds: timeoutSeconds)
        detachReplacement(of: id)
        if exit.isFailure || worker.intent == .operatorKill {
            restartsBySlot[id, default: 0] += 1
        }
        if exit.isFailure, state == .running {
            policy.recordFailure(boot: exit.isBootFailure, at: now)
            if policy.isErrored {
                state = .errored
                replacementQueue.removeAll()
            }
        }
        let kind = exit.isBootFailure ? "boot-failure" : worker.intent?.rawValue ?? "crash"
        exitCounts[kind, default: 0] += 1
        recentExits.append(RecentExit(worker: "\(name).\(id)", pid: worker.pid ?? 0, reason: exit.reason,
                                      at: now, isFailure: exit.isFailure, inflight: inflight))
        if recentExits.count > 20 { recentExits.removeFirst(recentExits.count - 20) }
        return exit
    }

    /// Ends the replacement a worker belongs to: an old worker stays due for
    /// replacement (still queued); a replacement that is gone leaves its old worker in place.
    private mutating func detachReplacement(of id: Int) {
        if let pair = replacement, pair.old == id || pair.new == id { replacement = nil }
    }

    /// Workers silent for longer than `timeout` seconds (0 disables).
    public func overdueWorkers(now: Double, timeout: Double) -> [Int] {
        guard timeout > 0 else { return [] }
        return orderedWorkers.filter { $0.isLive && now - $0.lastHeartbeatAt > timeout }.map(\.id)
    }

    /// The arbiter was not scheduled for `gap` seconds: a worker's silence in that
    /// time says nothing about the worker, nor do deadlines that passed meanwhile.
    public mutating func arbiterStalled(for gap: Double) {
        for id in workers.keys { workers[id]?.arbiterStalled(for: gap) }
    }

    /// Workers past their SIGKILL deadline.
    public func workersToKill(now: Double) -> [Int] {
        orderedWorkers.filter { ($0.killAt ?? .infinity) <= now }.map(\.id)
    }

    // MARK: - Commands

    /// The most workers a service may be asked for: a typo (`workers 1000000`) must
    /// not fork the machine to death.
    public static let maximumTarget = 1024

    /// Within the autoscaler's bounds while it runs.
    public mutating func setTarget(_ count: Int) {
        target = min(max(1, autoscaler?.bounds.clamp(count) ?? count), Self.maximumTarget)
    }

    /// Replaces every live worker, one at a time, new one ready first.
    public mutating func reload(intent: ExitIntent = .reload) {
        reloads += 1
        let queued = Set(replacementQueue.map(\.id))
        for worker in orderedWorkers where worker.isLive && !queued.contains(worker.id) {
            replacementQueue.append((worker.id, intent))
        }
    }

    /// The worker reached its request limit and asked to be replaced.
    public mutating func recycle(id: Int) {
        guard workers[id]?.isLive == true, !replacementQueue.contains(where: { $0.id == id }) else { return }
        replacementQueue.insert((id, .recycle), at: 0)
    }

    /// Clears the errored state and the back-off, then replaces every worker.
    public mutating func restart() {
        policy.reset()
        if state == .errored { state = .running }
        reload(intent: .restart)
    }

    /// Asks every worker to drain; nothing is spawned any more.
    public mutating func beginShutdown() -> [MonitorAction] {
        state = .stopping
        replacementQueue.removeAll()
        var actions: [MonitorAction] = []
        replacement = nil
        for worker in orderedWorkers where worker.isLive && workers[worker.id]?.leave(intent: .shutdown, killAt: nil) == true {
            actions.append(.drain(id: worker.id, intent: .shutdown))
        }
        return actions
    }
}

/// A worker that ended recently, for the status and the dashboard.
public struct RecentExit: Codable, Sendable, Equatable {
    public let worker: String
    public let pid: Int32
    public let reason: String
    /// Monotonic seconds; the snapshot turns it into an age.
    public let at: Double
    public let isFailure: Bool
    /// What it was serving when it ended, read from its scoreboard.
    public var inflight: [InflightRequest] = []
}
