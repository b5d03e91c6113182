import Arbiter
import Mailbox
import PulseControl
import Testing

/// The autoscaling decisions, one observation a second, without processes.
@Suite struct AutoscalerTests {
    /// A worker's heartbeat with its thread pool at `busy` of `size` and `queue` waiting.
    func report(busy: Int, size: Int = 10, queue: Int = 0, green: PoolOccupancy? = nil) -> WorkerReport {
        var report = WorkerReport()
        report.mode = "thread"
        report.threads = PoolOccupancy(busy: busy, size: size)
        report.green = green ?? PoolOccupancy(busy: 0, size: 100)
        report.queue = queue
        return report
    }

    /// Two workers of ten threads each, every thread busy, 35 requests waiting.
    var saturated: [WorkerReport] { [report(busy: 10, queue: 20), report(busy: 10, queue: 15)] }
    /// Two workers, two threads busy in all, nothing waiting.
    var idle: [WorkerReport] { [report(busy: 1), report(busy: 1)] }

    func scaler(_ min: Int, _ max: Int) -> Autoscaler { Autoscaler(bounds: AutoscaleBounds(min: min, max: max)!) }

    /// Feeds the same reports once a second over `seconds`; returns what was decided, by second.
    func feed(_ scaler: inout Autoscaler, _ reports: [WorkerReport], target: Int, seconds: ClosedRange<Int>,
              replacing: Bool = false, mode: ExecutionMode = .thread) -> [Int: Autoscaler.Decision] {
        var decisions: [Int: Autoscaler.Decision] = [:]
        for second in seconds {
            decisions[second] = scaler.observe(reports, mode: mode, target: target, replacing: replacing, now: Double(second))
        }
        return decisions
    }

    @Test func aPoolHighForThreeSecondsGetsAWorker() throws {
        var scaler = scaler(1, 4)
        let decisions = feed(&scaler, saturated, target: 2, seconds: 0...3)
        #expect(decisions.keys.sorted() == [3])
        let decision = try #require(decisions[3])
        #expect(decision.from == 2 && decision.to == 3)
        #expect(decision.reason == "pool 20/20 busy, queue 35, for 3 s")
        #expect(decision.description == "2 -> 3 workers: pool 20/20 busy, queue 35, for 3 s")
        #expect(scaler.lastDecision == decision)
    }

    @Test func aQueueAloneIsHighAndNinetyPercentIsHigh() {
        var queued = scaler(1, 4)
        #expect(feed(&queued, [report(busy: 1, queue: 1), report(busy: 0)], target: 2, seconds: 0...3)[3]?.to == 3)
        var busy = scaler(1, 4)
        #expect(feed(&busy, [report(busy: 9), report(busy: 9)], target: 2, seconds: 0...3)[3]?.to == 3)
        var almost = scaler(1, 4)
        #expect(feed(&almost, [report(busy: 9), report(busy: 8)], target: 2, seconds: 0...20).isEmpty)
    }

    @Test func aPoolLowForTenSecondsLosesAWorker() throws {
        var scaler = scaler(1, 4)
        let decisions = feed(&scaler, [report(busy: 2, size: 20)], target: 1, seconds: 0...20)
        #expect(decisions.isEmpty, "never below the minimum")
        var two = self.scaler(1, 4)
        let down = feed(&two, idle, target: 2, seconds: 0...10)
        #expect(down.keys.sorted() == [10])
        #expect(down[10]?.description == "2 -> 1 workers: pool 2/20 busy, queue 0, for 10 s")
    }

    @Test func burstsAndLullsShorterThanTheirHoldChangeNothing() {
        var scaler = scaler(1, 4)
        var decisions: [Autoscaler.Decision] = []
        // Two seconds saturated, one in between: the high streak never reaches three.
        for second in 0..<30 {
            let reports = second % 3 == 2 ? [report(busy: 5), report(busy: 5)] : saturated
            if let decision = scaler.observe(reports, mode: .thread, target: 2, replacing: false, now: Double(second)) {
                decisions.append(decision)
            }
        }
        // Nine seconds idle, then one busy second: the low streak starts again.
        for second in 30..<60 {
            let reports = (second - 30) % 10 == 9 ? saturated : idle
            if let decision = scaler.observe(reports, mode: .thread, target: 2, replacing: false, now: Double(second)) {
                decisions.append(decision)
            }
        }
        #expect(decisions.isEmpty)
    }

    @Test func afterADecisionACooldownAndTheStreakStartsAgain() {
        var scaler = scaler(1, 8)
        #expect(feed(&scaler, saturated, target: 2, seconds: 0...3)[3]?.to == 3)
        let three = saturated + [report(busy: 10, queue: 5)]
        // Cooling until 8; high from 8, so the next worker comes at 11.
        let next = feed(&scaler, three, target: 3, seconds: 4...11)
        #expect(next.keys.sorted() == [11])
        #expect(next[11]?.description == "3 -> 4 workers: pool 30/30 busy, queue 40, for 3 s")
    }

    @Test func neverAboveTheMaximum() {
        var scaler = scaler(1, 2)
        #expect(feed(&scaler, saturated, target: 2, seconds: 0...30).isEmpty)
    }

    @Test func nothingWhileARollingReplacementRunsAndTheStreakRestartsAfter() {
        var scaler = scaler(1, 4)
        #expect(feed(&scaler, saturated, target: 2, seconds: 0...2).isEmpty)
        #expect(feed(&scaler, saturated, target: 2, seconds: 3...20, replacing: true).isEmpty)
        let after = feed(&scaler, saturated, target: 2, seconds: 21...24)
        #expect(after.keys.sorted() == [24])
    }

    @Test func aPoolStillBootingAWorkerIsNotMeasured() {
        var scaler = scaler(1, 4)
        // Target 3, two ready: the third is booting (or missing); its load says nothing.
        #expect(feed(&scaler, saturated, target: 3, seconds: 0...10).isEmpty)
        // Nor is an idle pool of the wrong size.
        #expect(feed(&scaler, idle, target: 3, seconds: 11...30).isEmpty)
    }

    @Test func aTargetChangedByHandRestartsTheStreak() {
        var scaler = scaler(1, 4)
        #expect(feed(&scaler, idle, target: 2, seconds: 0...8).isEmpty)
        // The operator scaled to 3 and back meanwhile: from 11, the ten seconds count again.
        #expect(feed(&scaler, idle + [report(busy: 0)], target: 3, seconds: 9...9).isEmpty)
        let down = feed(&scaler, idle, target: 2, seconds: 10...21)
        #expect(down.keys.sorted() == [21])
    }

    @Test func aGapInTheObservationsRestartsTheStreak() {
        var scaler = scaler(1, 4)
        #expect(feed(&scaler, saturated, target: 2, seconds: 0...2).isEmpty)
        // Nothing observed from 3 to 9 (the service was errored, say): high again from 11.
        #expect(feed(&scaler, saturated, target: 2, seconds: 10...13).isEmpty)
        #expect(feed(&scaler, saturated, target: 2, seconds: 14...14)[14]?.to == 3)
    }

    @Test func cooperativeModeReadsTheGreenPool() {
        let busyGreen = [report(busy: 0, green: PoolOccupancy(busy: 100, size: 100)),
                         report(busy: 0, green: PoolOccupancy(busy: 95, size: 100))]
        var cooperative = scaler(1, 4)
        let decisions = feed(&cooperative, busyGreen, target: 2, seconds: 0...3, mode: .cooperative)
        #expect(decisions[3]?.reason == "pool 195/200 busy, queue 0, for 3 s")
        // The same workers in thread mode: idle threads.
        var thread = scaler(1, 4)
        #expect(feed(&thread, busyGreen, target: 2, seconds: 0...10)[10]?.to == 1)
    }

    @Test func thresholdsAreSettings() {
        var thresholds = Autoscaler.Thresholds()
        #expect(thresholds.highOccupancy == 0.9 && thresholds.lowOccupancy == 0.3)
        #expect(thresholds.highSeconds == 3 && thresholds.lowSeconds == 10 && thresholds.cooldownSeconds == 5)
        thresholds.highSeconds = 1
        thresholds.highOccupancy = 0.5
        var scaler = Autoscaler(bounds: AutoscaleBounds(min: 1, max: 4)!, thresholds: thresholds)
        let half = [report(busy: 5), report(busy: 5)]
        #expect(feed(&scaler, half, target: 2, seconds: 0...1)[1]?.description == "2 -> 3 workers: pool 10/20 busy, queue 0, for 1 s")
    }

    @Test func boundsReadAndRefuseAsTheOperatorWritesThem() {
        #expect(AutoscaleBounds(parsing: "1:4") == AutoscaleBounds(min: 1, max: 4))
        #expect(AutoscaleBounds(parsing: "2:2")?.description == "2:2")
        for bad in ["0:4", "3:1", "1", "1:", ":4", "a:b", "1:4:5", "-1:2", ""] {
            #expect(AutoscaleBounds(parsing: bad) == nil, "\(bad)")
        }
        let bounds = AutoscaleBounds(min: 2, max: 5)!
        #expect([0, 2, 4, 9].map(bounds.clamp) == [2, 2, 4, 5])
    }
}

/// The monitor feeds its autoscaler and keeps a manual target within its bounds.
@Suite struct MonitorAutoscaleTests {
    func readyMonitor(_ count: Int) -> Monitor {
        var monitor = Monitor(name: "web", binds: [.default], target: count)
        for action in monitor.plan(now: 0) {
            guard case .spawn(let id, _) = action else { continue }
            monitor.workerSpawned(id: id, pid: Int32(100 + id))
            _ = monitor.workerReady(id: id, now: 0)
        }
        return monitor
    }

    func beat(_ monitor: inout Monitor, busy: Int, queue: Int, now: Double) {
        var report = WorkerReport()
        report.threads = PoolOccupancy(busy: busy, size: 2)
        report.queue = queue
        for worker in monitor.orderedWorkers { monitor.workerHeartbeat(id: worker.id, report: report, now: now) }
    }

    @Test func turningItOnMovesTheTargetIntoTheBoundsAndKeepsItThere() {
        var monitor = readyMonitor(5)
        monitor.setAutoscale(AutoscaleBounds(min: 1, max: 3))
        #expect(monitor.target == 3)
        monitor.setTarget(10)
        #expect(monitor.target == 3)
        monitor.setAutoscale(AutoscaleBounds(min: 4, max: 6))
        #expect(monitor.target == 4)
        monitor.setAutoscale(nil)
        #expect(monitor.autoscaler == nil && monitor.target == 4)
        monitor.setTarget(10)
        #expect(monitor.target == 10)
    }

    @Test func aSaturatedServiceScalesUpAndThePlanSpawns() throws {
        var monitor = readyMonitor(1)
        monitor.setAutoscale(AutoscaleBounds(min: 1, max: 2))
        var decision: Autoscaler.Decision?
        for second in 0...3 {
            beat(&monitor, busy: 2, queue: 4, now: Double(second))
            decision = monitor.autoscale(now: Double(second))
        }
        let made = try #require(decision)
        #expect(made.description == "1 -> 2 workers: pool 2/2 busy, queue 4, for 3 s")
        monitor.setTarget(made.to)
        #expect(monitor.plan(now: 3) == [.spawn(id: 2, replacing: nil)])
    }

    @Test func aReloadHoldsIt() {
        var monitor = readyMonitor(1)
        monitor.setAutoscale(AutoscaleBounds(min: 1, max: 2))
        monitor.reload()
        for second in 0...10 {
            beat(&monitor, busy: 2, queue: 4, now: Double(second))
            #expect(monitor.autoscale(now: Double(second)) == nil)
        }
    }
}
