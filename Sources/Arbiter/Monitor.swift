import Mailbox

/// What a service is doing as a whole.
public enum ServiceState: String, Codable, Sendable {
    case running
    /// Workers failed to boot too often in a row; respawning waits for `pulse ctl restart`.
    case errored
    case stopping
}

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
    public private(set) var restartsBySlot: [Int: Int] = [:]
    public private(set) var recentExits: [RecentExit] = []

    public init(name: String, binds: [Bind], target: Int, mode: ExecutionMode = .thread,
                policy: RestartPolicy = RestartPolicy()) {
        self.name = name
        self.binds = binds
        self.target = max(1, target)
        self.mode = mode
        self.policy = policy
    }

    /// Workers in id order.
    public var orderedWorkers: [WorkerRecord] { workers.values.sorted { $0.id < $1.id } }

    /// Workers counting toward the target: live ones, a pair of old and replacement counting once.
    var countedWorkers: Int { workers.values.filter { $0.isLive && $0.replacedBy == nil }.count }

    // MARK: - Planning

    /// The next steps toward the target: replacements one at a time, then scaling.
    public mutating func plan(now: Double) -> [MonitorAction] {
        guard state == .running else { return [] }
        if workers.values.contains(where: { $0.isReady && $0.isLive }) { policy.noteHealthy(at: now) }
        let maySpawn = policy.maySpawn(at: now)

        var actions: [MonitorAction] = []
        if maySpawn, !workers.values.contains(where: { $0.replaces != nil }) {
            while let next = replacementQueue.first {
                guard let old = workers[next.id], old.isLive, old.replacedBy == nil else {
                    replacementQueue.removeFirst()
                    continue
                }
                let id = freeSlot()
                workers[id] = WorkerRecord(id: id, spawnedAt: now)
                workers[id]!.replaces = old.id
                workers[old.id]!.replacedBy = id
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
            for id in scaleDownVictims(count: counted - target) {
                workers[id]!.intent = .scaleDown
                replacementQueue.removeAll { $0.id == id }
                actions.append(.drain(id: id, intent: .scaleDown))
            }
        }
        return actions
    }

    /// Workers to drain when scaling down: those due for replacement first, then
    /// ones still booting, then the highest ids. Never half of a replacement pair.
    private func scaleDownVictims(count: Int) -> [Int] {
        let candidates = workers.values.filter { $0.isLive && $0.replacedBy == nil && $0.replaces == nil }
        let queued = Set(replacementQueue.map(\.id))
        let ordered = candidates.sorted { a, b in
            let ka = (queued.contains(a.id) ? 0 : 1, a.isReady ? 1 : 0, -a.id)
            let kb = (queued.contains(b.id) ? 0 : 1, b.isReady ? 1 : 0, -b.id)
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
        workers[id]?.pid = pid
    }

    /// The worker said `ready`: if it replaces another, that one is drained now.
    public mutating func workerReady(id: Int, now: Double) -> [MonitorAction] {
        guard var worker = workers[id] else { return [] }
        worker.isReady = true
        worker.readyAt = now
        worker.lastHeartbeatAt = now
        var actions: [MonitorAction] = []
        if let oldID = worker.replaces {
            worker.replaces = nil
            if var old = workers[oldID] {
                old.replacedBy = nil
                if old.isLive {
                    let intent = replacementIntent(for: oldID)
                    old.intent = intent
                    actions.append(.drain(id: oldID, intent: intent))
                }
                workers[oldID] = old
            }
            replacementQueue.removeAll { $0.id == oldID }
        }
        workers[id] = worker
        return actions
    }

    private func replacementIntent(for id: Int) -> ExitIntent {
        replacementQueue.first { $0.id == id }?.intent ?? .reload
    }

    public mutating func workerHeartbeat(id: Int, report: WorkerReport, now: Double) {
        guard var worker = workers[id] else { return }
        worker.lastHeartbeatAt = now
        if let sample = worker.lastRequestSample, now > sample.at {
            worker.rps = Double(max(0, report.requests - sample.requests)) / (now - sample.at)
        }
        worker.lastRequestSample = (report.requests, now)
        worker.report = report
        workers[id] = worker
    }

    public mutating func workerResources(id: Int, rssBytes: Int, cpuPercent: Double) {
        workers[id]?.rssBytes = rssBytes
        workers[id]?.cpuPercent = cpuPercent
    }

    /// The arbiter decided to end a worker without a drain (timeout, operator kill).
    public mutating func markKilled(id: Int, intent: ExitIntent, killAt: Double?) {
        guard var worker = workers[id] else { return }
        detachReplacement(of: &worker)
        worker.intent = intent
        worker.killAt = killAt
        workers[id] = worker
    }

    public mutating func setKillDeadline(id: Int, at deadline: Double) {
        workers[id]?.killAt = deadline
    }

    /// A worker process ended: classify it, forget it, and account for the policy.
    public mutating func workerExited(id: Int, termination: Termination, now: Double,
                                      timeoutSeconds: Double) -> WorkerExit? {
        guard var worker = workers.removeValue(forKey: id) else { return nil }
        let exit = WorkerExit.classify(termination, intent: worker.intent, wasReady: worker.isReady,
                                       timeoutSeconds: timeoutSeconds)
        detachReplacement(of: &worker)
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
        recentExits.append(RecentExit(worker: "\(name).\(id)", pid: worker.pid, reason: exit.reason,
                                      at: now, isFailure: exit.isFailure))
        if recentExits.count > 20 { recentExits.removeFirst(recentExits.count - 20) }
        return exit
    }

    /// Unlinks a worker from a replacement pair it belongs to: an old worker stays due
    /// for replacement; a replacement that is gone leaves its old worker in place.
    private mutating func detachReplacement(of worker: inout WorkerRecord) {
        if let newID = worker.replacedBy {
            workers[newID]?.replaces = nil
            worker.replacedBy = nil
        }
        if let oldID = worker.replaces {
            workers[oldID]?.replacedBy = nil
            worker.replaces = nil
        }
    }

    /// Workers silent for longer than `timeout` seconds (0 disables).
    public func overdueWorkers(now: Double, timeout: Double) -> [Int] {
        guard timeout > 0 else { return [] }
        return orderedWorkers.filter { $0.intent == nil && now - $0.lastHeartbeatAt > timeout }.map(\.id)
    }

    /// Workers past their SIGKILL deadline.
    public func workersToKill(now: Double) -> [Int] {
        orderedWorkers.filter { ($0.killAt ?? .infinity) <= now }.map(\.id)
    }

    // MARK: - Commands

    public mutating func setTarget(_ count: Int) { target = max(1, count) }

    /// Replaces every live worker, one at a time, new one ready first.
    public mutating func reload(intent: ExitIntent = .reload) {
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
        for worker in orderedWorkers where worker.intent == nil {
            workers[worker.id]!.intent = .shutdown
            actions.append(.drain(id: worker.id, intent: .shutdown))
        }
        return actions
    }

    public func worker(pid: Int32) -> WorkerRecord? { workers.values.first { $0.pid == pid } }
}

/// A worker that ended recently, for the status and the dashboard.
public struct RecentExit: Codable, Sendable, Equatable {
    public let worker: String
    public let pid: Int32
    public let reason: String
    /// Monotonic seconds; the snapshot turns it into an age.
    public let at: Double
    public let isFailure: Bool
}
