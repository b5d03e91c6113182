@testable import Server
import Testing

/// A worker's life from boot to exit, without a process.
/// (`== true` and `== false` because `#expect` cannot decompose a bare mutating call.)
@Suite struct WorkerPhaseTests {
    /// A phase that booted and serves.
    private func servingPhase() -> WorkerPhase {
        var phase = WorkerPhase()
        #expect(phase.booted() == true)
        #expect(phase.state == .serving)
        return phase
    }

    /// A phase that drained and exits.
    private func exitingPhase() -> WorkerPhase {
        var phase = servingPhase()
        #expect(phase.drainRequested() == true)
        phase.acceptorStopped()
        #expect(phase.shouldExit(connections: 0, inflight: 0) == true)
        #expect(phase.state == .exiting)
        return phase
    }

    @Test func aWorkerStartsBooting() {
        let phase = WorkerPhase()
        #expect(phase.state == .booting)
        #expect(!phase.isDraining)
    }

    @Test func aWorkerBootsOnce() {
        var phase = WorkerPhase()
        #expect(phase.booted() == true)
        #expect(phase.state == .serving)
        #expect(!phase.isDraining)
        #expect(phase.booted() == false)
        #expect(phase.state == .serving)
    }

    @Test func aDrainDuringBootNeverStartsAccepting() {
        var phase = WorkerPhase()
        #expect(phase.drainRequested() == true)
        #expect(phase.state == .draining(acceptorRunning: false))
        #expect(phase.isDraining)
        #expect(phase.booted() == false)
        #expect(phase.state == .draining(acceptorRunning: false))
        // No acceptor to wait for: it may go at once.
        #expect(phase.shouldExit(connections: 0, inflight: 0) == true)
        #expect(phase.state == .exiting)
    }

    @Test func aDrainWhileServingWaitsForTheAcceptor() {
        var phase = servingPhase()
        #expect(phase.drainRequested() == true)
        #expect(phase.state == .draining(acceptorRunning: true))
        #expect(phase.isDraining)
        #expect(phase.shouldExit(connections: 0, inflight: 0) == false)
        #expect(phase.state == .draining(acceptorRunning: true))
        phase.acceptorStopped()
        #expect(phase.state == .draining(acceptorRunning: false))
        #expect(phase.shouldExit(connections: 0, inflight: 0) == true)
        #expect(phase.state == .exiting)
    }

    @Test func aDrainBeginsOnlyOnce() {
        var phase = servingPhase()
        #expect(phase.drainRequested() == true)
        #expect(phase.drainRequested() == false)
        #expect(phase.state == .draining(acceptorRunning: true))
        phase.acceptorStopped()
        #expect(phase.drainRequested() == false)
        #expect(phase.state == .draining(acceptorRunning: false))

        var gone = exitingPhase()
        #expect(gone.drainRequested() == false)
        #expect(gone.state == .exiting)
    }

    @Test func theAcceptorStoppingMattersOnlyWhileDraining() {
        var booting = WorkerPhase()
        booting.acceptorStopped()
        #expect(booting.state == .booting)

        var serving = servingPhase()
        serving.acceptorStopped()
        #expect(serving.state == .serving)
        // A drain after that still waits for the acceptor it believes running.
        #expect(serving.drainRequested() == true)
        #expect(serving.state == .draining(acceptorRunning: true))

        var draining = WorkerPhase()
        #expect(draining.drainRequested() == true)
        draining.acceptorStopped()
        #expect(draining.state == .draining(acceptorRunning: false))

        var gone = exitingPhase()
        gone.acceptorStopped()
        #expect(gone.state == .exiting)
    }

    @Test func aDrainedWorkerExitsOnlyWithNoConnectionAndNothingInFlight() {
        var phase = servingPhase()
        #expect(phase.drainRequested() == true)
        phase.acceptorStopped()
        #expect(phase.shouldExit(connections: 1, inflight: 0) == false)
        #expect(phase.shouldExit(connections: 0, inflight: 1) == false)
        #expect(phase.shouldExit(connections: 2, inflight: 3) == false)
        #expect(phase.state == .draining(acceptorRunning: false))
        #expect(phase.shouldExit(connections: 0, inflight: 0) == true)
        #expect(phase.state == .exiting)
    }

    @Test func aWorkerIsToldToExitOnlyOnce() {
        var phase = exitingPhase()
        #expect(phase.shouldExit(connections: 0, inflight: 0) == false)
        #expect(phase.state == .exiting)
    }

    @Test func aWorkerNotDrainingNeverExitsWhenIdle() {
        var booting = WorkerPhase()
        #expect(booting.shouldExit(connections: 0, inflight: 0) == false)
        #expect(booting.state == .booting)

        var serving = servingPhase()
        #expect(serving.shouldExit(connections: 0, inflight: 0) == false)
        #expect(serving.state == .serving)
    }

    @Test func theGracefulDeadlineEndsOnlyADrain() {
        var booting = WorkerPhase()
        #expect(booting.deadlineReached() == false)
        #expect(booting.state == .booting)

        var serving = servingPhase()
        #expect(serving.deadlineReached() == false)
        #expect(serving.state == .serving)

        var withAcceptor = servingPhase()
        #expect(withAcceptor.drainRequested() == true)
        #expect(withAcceptor.deadlineReached() == true)
        #expect(withAcceptor.state == .exiting)
        #expect(withAcceptor.deadlineReached() == false)

        var busy = WorkerPhase()
        #expect(busy.drainRequested() == true)
        #expect(busy.deadlineReached() == true)
        #expect(busy.state == .exiting)
        // Gone at the deadline: no second exit when the last connection closes.
        #expect(busy.shouldExit(connections: 0, inflight: 0) == false)

        var gone = exitingPhase()
        #expect(gone.deadlineReached() == false)
        #expect(gone.state == .exiting)
    }

    @Test func aWorkerIsDrainingFromTheDrainToItsExit() {
        var phase = WorkerPhase()
        #expect(!phase.isDraining)
        #expect(phase.booted() == true)
        #expect(!phase.isDraining)
        #expect(phase.drainRequested() == true)
        #expect(phase.isDraining)
        phase.acceptorStopped()
        #expect(phase.isDraining)
        #expect(phase.shouldExit(connections: 0, inflight: 0) == true)
        #expect(phase.isDraining)
    }

    @Test func anExitingWorkerDoesNotBoot() {
        var phase = WorkerPhase()
        #expect(phase.drainRequested() == true)
        #expect(phase.shouldExit(connections: 0, inflight: 0) == true)
        #expect(phase.booted() == false)
        #expect(phase.state == .exiting)
    }
}
