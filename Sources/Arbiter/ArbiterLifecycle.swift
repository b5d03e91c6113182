/// The arbiter's own life, from serving to its exit code.
///
///     running --graceful--> stopping(graceful) --immediate--> stopping(immediate)
///        |                        |                                 |
///        +--immediate-------------+---------------------------------+
///                                 | every worker reaped
///                                 v
///                      closingDashboard(until:) --dashboard gone--> exited(code)
///                                 | past the deadline: SIGKILL, then wait for the reap
///
/// Without a dashboard, `stopping` goes straight to `exited`. Events return what the
/// arbiter must do; nothing here waits, so the event loop never sleeps.
struct ArbiterLifecycle: Sendable, Equatable {
    enum ShutdownKind: Sendable, Equatable { case graceful, immediate }

    enum Phase: Sendable, Equatable {
        case running
        case stopping(ShutdownKind)
        /// The workers are gone; the dashboard was asked to leave and has until then.
        case closingDashboard(until: Double)
        case exited(code: Int32)
    }

    enum ShutdownAction: Sendable, Equatable {
        case none
        /// Ask every worker to drain.
        case drainWorkers
        /// Stop every worker at once.
        case stopWorkersNow
    }

    enum TickAction: Sendable, Equatable {
        case none
        /// SIGTERM to the dashboard: it restores the terminal and exits.
        case stopDashboard
        case killDashboard
        case exit(code: Int32)
    }

    private(set) var phase = Phase.running
    /// Draining workers that had to be killed: the exit code says the shutdown was not clean.
    private(set) var forcedKills = 0
    /// How long the dashboard may take to give the terminal back.
    let dashboardGrace: Double

    init(dashboardGrace: Double = 2) { self.dashboardGrace = dashboardGrace }

    var isRunning: Bool { phase == .running }

    /// A signal, a control command or a key asked the arbiter to stop.
    mutating func shutdownRequested(_ kind: ShutdownKind) -> ShutdownAction {
        switch (phase, kind) {
        case (.running, .graceful):
            phase = .stopping(.graceful)
            return .drainWorkers
        case (.running, .immediate), (.stopping(.graceful), .immediate):
            phase = .stopping(.immediate)
            return .stopWorkersNow
        case (.stopping, _), (.closingDashboard, _), (.exited, _):
            return .none
        }
    }

    mutating func drainingWorkerKilled() { forcedKills += 1 }

    /// Called on every tick with what is left to wait for.
    mutating func tick(now: Double, workersLeft: Int, dashboardRunning: Bool) -> TickAction {
        switch phase {
        case .running, .exited:
            return .none
        case .stopping:
            guard workersLeft == 0 else { return .none }
            if dashboardRunning {
                phase = .closingDashboard(until: now + dashboardGrace)
                return .stopDashboard
            }
            return exit()
        case .closingDashboard(let deadline):
            if !dashboardRunning { return exit() }
            if now >= deadline {
                phase = .closingDashboard(until: .infinity)
                return .killDashboard
            }
            return .none
        }
    }

    private mutating func exit() -> TickAction {
        let code: Int32 = forcedKills == 0 ? 0 : 1
        phase = .exited(code: code)
        return .exit(code: code)
    }
}
