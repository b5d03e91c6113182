import Arbiter
import PulseControl
import Mailbox
import Testing

/// The supervision decisions, without processes: spawn ids stand in for workers.
@Suite struct MonitorTests {
    /// A monitor whose first `count` workers have spawned and reported ready.
    func runningMonitor(_ count: Int, policy: RestartPolicy = RestartPolicy()) -> Monitor {
        var monitor = Monitor(name: "web", binds: [.default], target: count, policy: policy)
        let actions = monitor.plan(now: 0)
        #expect(actions == (1...count).map { .spawn(id: $0, replacing: nil) })
        for id in 1...count {
            monitor.workerSpawned(id: id, pid: Int32(100 + id))
            _ = monitor.workerReady(id: id, now: 0)
        }
        return monitor
    }

    @Test func spawnsUpToTheTargetOnce() {
        var monitor = runningMonitor(3)
        #expect(monitor.plan(now: 1).isEmpty)
        #expect(monitor.orderedWorkers.map(\.state) == [.ready, .ready, .ready])
    }

    @Test func scalesDownTheNewestAndNeverBelowOne() {
        var monitor = runningMonitor(3)
        monitor.setTarget(1)
        #expect(monitor.plan(now: 1) == [.drain(id: 3, intent: .scaleDown), .drain(id: 2, intent: .scaleDown)])
        #expect(monitor.plan(now: 2).isEmpty)
        monitor.setTarget(-4)
        #expect(monitor.target == 1)
    }

    @Test func aStalledArbiterHoldsNoSilenceAgainstItsWorkers() {
        var monitor = runningMonitor(2)
        monitor.markKilled(id: 2, intent: .timeout, killAt: 3)
        #expect(monitor.overdueWorkers(now: 400, timeout: 30) == [1])
        #expect(monitor.workersToKill(now: 400) == [2])
        monitor.arbiterStalled(for: 398)
        #expect(monitor.overdueWorkers(now: 400, timeout: 30).isEmpty, "a fresh --timeout from the stall's end")
        #expect(monitor.overdueWorkers(now: 427, timeout: 30).isEmpty)
        #expect(monitor.overdueWorkers(now: 429, timeout: 30) == [1])
        #expect(monitor.workersToKill(now: 400).isEmpty && monitor.workersToKill(now: 401) == [2])
    }

    @Test func aReplacementTakesTheLowestFreeSlot() {
        var monitor = runningMonitor(2)
        _ = monitor.workerExited(id: 1, termination: .signaled(signal: 9), now: 1, timeoutSeconds: 30)
        #expect(monitor.plan(now: 1) == [.spawn(id: 1, replacing: nil)])
        #expect(monitor.restartsBySlot[1] == 1)
    }

    @Test func aWorkerOverTheMemoryLimitForItsSamplesIsReplacedNewReadyFirst() throws {
        var monitor = runningMonitor(2)
        let allowed = try #require(monitor.workers[1]?.memorySamplesAllowed)
        #expect((3...6).contains(allowed))
        // Under the limit, or over it then back under: nothing.
        func sample(_ id: Int, _ bytes: Int, limit: Int = 1000) -> Bool {
            monitor.workerResources(id: id, rssBytes: bytes, cpuPercent: 0, memoryLimit: limit)
        }
        var due = [sample(1, 900)]
        for _ in 1..<allowed { due.append(sample(1, 2000)) }
        due.append(sample(1, 900))
        #expect(!due.contains(true))
        #expect(monitor.plan(now: 1).isEmpty)
        // Over it for all its samples in a row: replaced once, like a reload's worker.
        due = (1...allowed + 1).map { _ in sample(1, 2000) }
        #expect(due == (1...allowed + 1).map { $0 == allowed })
        #expect(monitor.plan(now: 2) == [.spawn(id: 3, replacing: 1)])
        monitor.workerSpawned(id: 3, pid: 103)
        #expect(monitor.workerReady(id: 3, now: 2.5) == [.drain(id: 1, intent: .memory)])
        // No limit, no replacement.
        due = (0..<10).map { _ in sample(2, 1 << 40, limit: 0) }
        #expect(!due.contains(true))
    }

    @Test func aReplacementThatKeepsFailingIsTimedFromItsFirstAttempt() throws {
        var monitor = runningMonitor(1)
        monitor.reload()
        #expect(monitor.plan(now: 10) == [.spawn(id: 2, replacing: 1)])
        #expect(monitor.replacingSince?.old == 1 && monitor.replacingSince?.at == 10)
        monitor.workerSpawned(id: 2, pid: 102)
        _ = monitor.workerExited(id: 2, termination: .exited(code: 3), now: 11, timeoutSeconds: 30)
        // The next attempt, after the back-off, keeps the first attempt's time.
        let retry = monitor.plan(now: 40)
        #expect(retry.contains(.spawn(id: 2, replacing: 1)))
        #expect(monitor.replacingSince?.at == 10)
        monitor.workerSpawned(id: 2, pid: 103)
        #expect(monitor.workerReady(id: 2, now: 41) == [.drain(id: 1, intent: .reload)])
        #expect(monitor.replacingSince == nil)
    }

    @Test func reloadReplacesOneAtATimeNewReadyFirst() {
        var monitor = runningMonitor(2)
        monitor.reload()
        #expect(monitor.plan(now: 1) == [.spawn(id: 3, replacing: 1)])
        // Nothing else starts while the replacement boots, and the old one keeps serving.
        #expect(monitor.plan(now: 1.1).isEmpty)
        #expect(monitor.workers[1]?.state == .ready)
        monitor.workerSpawned(id: 3, pid: 103)
        #expect(monitor.workerReady(id: 3, now: 1.2) == [.drain(id: 1, intent: .reload)])
        #expect(monitor.plan(now: 1.3) == [.spawn(id: 4, replacing: 2)])
        monitor.workerSpawned(id: 4, pid: 104)
        #expect(monitor.workerReady(id: 4, now: 1.4) == [.drain(id: 2, intent: .reload)])
        _ = monitor.workerExited(id: 1, termination: .exited(code: 0), now: 1.5, timeoutSeconds: 30)
        _ = monitor.workerExited(id: 2, termination: .exited(code: 0), now: 1.5, timeoutSeconds: 30)
        #expect(monitor.plan(now: 2).isEmpty)
        #expect(monitor.orderedWorkers.map(\.id) == [3, 4])
        #expect(monitor.restartsBySlot.isEmpty)
    }

    @Test func aReplacementThatFailsToBootLeavesTheOldWorkerServing() {
        var policy = RestartPolicy()
        policy.maxBootFailures = 2
        var monitor = runningMonitor(1, policy: policy)
        monitor.reload()
        #expect(monitor.plan(now: 1) == [.spawn(id: 2, replacing: 1)])
        let exit = monitor.workerExited(id: 2, termination: .exited(code: 3), now: 1.1, timeoutSeconds: 30)
        #expect(exit?.isBootFailure == true)
        #expect(monitor.workers[1]?.state == .ready)
        // Tried again after the back-off, still for the same old worker.
        #expect(monitor.plan(now: 1.2) == [.spawn(id: 2, replacing: 1)])
        _ = monitor.workerExited(id: 2, termination: .exited(code: 3), now: 1.3, timeoutSeconds: 30)
        #expect(monitor.state == .errored)
        #expect(monitor.plan(now: 100).isEmpty)
        #expect(monitor.workers[1]?.state == .ready)
    }

    @Test func scaleUpDuringAReloadCountsAPairOnce() {
        var monitor = runningMonitor(2)
        monitor.reload()
        _ = monitor.plan(now: 1)                  // spawns 3 to replace 1
        monitor.setTarget(3)
        #expect(monitor.plan(now: 1.1) == [.spawn(id: 4, replacing: nil)])
    }

    @Test func scaleDownPrefersWorkersDueForReplacement() {
        var monitor = runningMonitor(3)
        monitor.reload()
        #expect(monitor.plan(now: 1) == [.spawn(id: 4, replacing: 1)])
        monitor.workerSpawned(id: 4, pid: 104)
        #expect(monitor.workerReady(id: 4, now: 1.1) == [.drain(id: 1, intent: .reload)])
        // 2 and 3 still wait for replacement; 4 is new. Draining 3 saves a replacement.
        monitor.setTarget(2)
        #expect(monitor.plan(now: 1.2) == [.spawn(id: 5, replacing: 2), .drain(id: 3, intent: .scaleDown)])
    }

    @Test func bootFailuresMarkTheServiceErroredAndRestartResumes() {
        var policy = RestartPolicy()
        policy.maxBootFailures = 3
        var monitor = Monitor(name: "web", binds: [.default], target: 1, policy: policy)
        var now = 0.0
        for _ in 0..<3 {
            now = max(now, monitor.policy.nextSpawnAt)
            let actions = monitor.plan(now: now)
            #expect(actions == [.spawn(id: 1, replacing: nil)])
            _ = monitor.workerExited(id: 1, termination: .exited(code: 3), now: now, timeoutSeconds: 30)
        }
        #expect(monitor.state == .errored)
        #expect(monitor.plan(now: now + 1000).isEmpty)
        monitor.restart()
        #expect(monitor.state == .running)
        #expect(monitor.plan(now: now + 1000) == [.spawn(id: 1, replacing: nil)])
    }

    @Test func silentWorkersAreOverdueAndKilledOnce() {
        var monitor = runningMonitor(2)
        monitor.workerHeartbeat(id: 1, report: WorkerReport(), now: 29)
        #expect(monitor.overdueWorkers(now: 31, timeout: 30) == [2])
        #expect(monitor.overdueWorkers(now: 31, timeout: 0).isEmpty)
        monitor.markKilled(id: 2, intent: .timeout, killAt: 34)
        #expect(monitor.overdueWorkers(now: 60, timeout: 30) == [1])
        #expect(monitor.workersToKill(now: 34) == [2])
        // The hung worker no longer counts: its replacement starts at once.
        #expect(monitor.plan(now: 31) == [.spawn(id: 3, replacing: nil)])
    }

    @Test func heartbeatsGiveARate() {
        var monitor = runningMonitor(1)
        var report = WorkerReport()
        report.requests = 10
        monitor.workerHeartbeat(id: 1, report: report, now: 1)
        report.requests = 30
        monitor.workerHeartbeat(id: 1, report: report, now: 3)
        #expect(monitor.workers[1]?.rps == 10)
    }

    @Test func shutdownDrainsEveryoneAndSpawnsNothing() {
        var monitor = runningMonitor(2)
        #expect(monitor.beginShutdown() == [.drain(id: 1, intent: .shutdown), .drain(id: 2, intent: .shutdown)])
        _ = monitor.workerExited(id: 1, termination: .signaled(signal: 9), now: 1, timeoutSeconds: 30)
        #expect(monitor.plan(now: 2).isEmpty)
    }
}
