@testable import Arbiter
import Testing

/// The arbiter's shutdown, without processes: what each event asks it to do.
@Suite struct ArbiterLifecycleTests {
    @Test func aGracefulShutdownDrainsThenExitsCleanly() {
        var life = ArbiterLifecycle()
        let step1 = life.tick(now: 0, workersLeft: 2, dashboardRunning: false)
        #expect(step1 == .none)
        let step2 = life.shutdownRequested(.graceful)
        #expect(step2 == .drainWorkers)
        let step3 = life.shutdownRequested(.graceful)
        #expect(step3 == .none)          // a second TERM changes nothing
        let step4 = life.tick(now: 1, workersLeft: 1, dashboardRunning: false)
        #expect(step4 == .none)
        let step5 = life.tick(now: 2, workersLeft: 0, dashboardRunning: false)
        #expect(step5 == .exit(code: 0))
        #expect(life.phase == .exited(code: 0))
        let step6 = life.tick(now: 3, workersLeft: 0, dashboardRunning: false)
        #expect(step6 == .none)
    }

    @Test func aSecondRequestEscalatesToImmediateNeverBack() {
        var life = ArbiterLifecycle()
        let step7 = life.shutdownRequested(.graceful)
        #expect(step7 == .drainWorkers)
        let step8 = life.shutdownRequested(.immediate)
        #expect(step8 == .stopWorkersNow)
        let step9 = life.shutdownRequested(.graceful)
        #expect(step9 == .none)
        let step10 = life.shutdownRequested(.immediate)
        #expect(step10 == .none)
        #expect(life.phase == .stopping(.immediate))
    }

    @Test func killedDrainsMakeTheExitCodeOne() {
        var life = ArbiterLifecycle()
        _ = life.shutdownRequested(.graceful)
        life.drainingWorkerKilled()
        let step11 = life.tick(now: 1, workersLeft: 0, dashboardRunning: false)
        #expect(step11 == .exit(code: 1))
    }

    @Test func theDashboardIsAskedThenKilledWithoutWaitingOnTheLoop() {
        var life = ArbiterLifecycle(dashboardGrace: 2)
        _ = life.shutdownRequested(.immediate)
        let step12 = life.tick(now: 10, workersLeft: 0, dashboardRunning: true)
        #expect(step12 == .stopDashboard)
        let step13 = life.tick(now: 11, workersLeft: 0, dashboardRunning: true)
        #expect(step13 == .none)
        let step14 = life.tick(now: 12, workersLeft: 0, dashboardRunning: true)
        #expect(step14 == .killDashboard)
        let step15 = life.tick(now: 12.1, workersLeft: 0, dashboardRunning: true)
        #expect(step15 == .none)   // killed once
        let step16 = life.tick(now: 12.2, workersLeft: 0, dashboardRunning: false)
        #expect(step16 == .exit(code: 0))
    }

    @Test func aDashboardThatLeavesInTimeIsNotKilled() {
        var life = ArbiterLifecycle()
        _ = life.shutdownRequested(.graceful)
        let step17 = life.tick(now: 0, workersLeft: 0, dashboardRunning: true)
        #expect(step17 == .stopDashboard)
        let step18 = life.tick(now: 0.5, workersLeft: 0, dashboardRunning: false)
        #expect(step18 == .exit(code: 0))
    }
}

/// One worker's life as the arbiter sees it: only forward moves are taken.
@Suite struct WorkerRecordTests {
    @Test func aWorkerBootsThenServes() {
        var record = WorkerRecord(id: 1, spawnedAt: 0)
        #expect(record.state == .booting && record.pid == nil && record.isLive)
        let step19 = record.becameReady(at: 1)
        #expect(!step19)                       // no process yet
        let step20 = record.spawned(pid: 42)
        #expect(step20)
        let step21 = record.spawned(pid: 43)
        #expect(!step21)                         // spawned once
        let step22 = record.becameReady(at: 1)
        #expect(step22)
        #expect(record.phase == .ready(pid: 42) && record.readyAt == 1)
        let step23 = record.becameReady(at: 2)
        #expect(!step23)
    }

    @Test func leavingIsFinalAndKeepsWhatIsKnown() {
        var record = WorkerRecord(id: 1, spawnedAt: 0)
        _ = record.spawned(pid: 42)
        _ = record.becameReady(at: 1)
        let step24 = record.leave(intent: .reload, killAt: nil)
        #expect(step24)
        #expect(record.state == .draining && !record.isLive && record.wasReady && record.pid == 42)
        let step25 = record.becameReady(at: 2)
        #expect(!step25)
        let step26 = record.setKillDeadline(30)
        #expect(step26)
        #expect(record.killAt == 30)
        // A kill while it drains is a harder reason and is taken; a drain after a kill is not.
        let step27 = record.leave(intent: .operatorKill, killAt: nil)
        #expect(step27)
        let step28 = record.leave(intent: .scaleDown, killAt: nil)
        #expect(!step28)
        #expect(record.intent == .operatorKill)
    }

    @Test func aWorkerAskedToGoWhileBootingMayStillReportReady() {
        var record = WorkerRecord(id: 1, spawnedAt: 0)
        _ = record.spawned(pid: 42)
        let step29 = record.leave(intent: .scaleDown, killAt: nil)
        #expect(step29)
        #expect(!record.wasReady)
        let step30 = record.becameReady(at: 1)
        #expect(step30)
        #expect(record.wasReady && record.intent == .scaleDown)
    }

    @Test func aKillDeadlineNeedsAWorkerThatIsLeaving() {
        var record = WorkerRecord(id: 1, spawnedAt: 0)
        _ = record.spawned(pid: 42)
        let step31 = record.setKillDeadline(5)
        #expect(!step31)
        #expect(record.killAt == nil)
    }
}
