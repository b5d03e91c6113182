/// A worker's own life, from boot to exit.
///
///     booting --booted--> serving --drain--> draining(acceptorRunning: true)
///        |                                       | the accept thread stopped
///        +--drain--> draining(acceptorRunning: false) <-+
///                          | no connection, nothing in flight; or the deadline
///                          v
///                       exiting
///
/// A drain asked during boot never starts accepting. The worker exits once the
/// accept thread has handed over every connection it took (so none is lost), none
/// is open and no request runs, or when the graceful timeout ends.
struct WorkerPhase: Equatable, Sendable {
    enum State: Equatable, Sendable {
        case booting
        case serving
        case draining(acceptorRunning: Bool)
        case exiting
    }

    private(set) var state = State.booting

    /// Asked to go: responses close their connections from now on.
    var isDraining: Bool {
        switch state {
        case .draining, .exiting: true
        case .booting, .serving: false
        }
    }

    /// The app booted: true when the worker should start accepting and say ready.
    mutating func booted() -> Bool {
        guard state == .booting else { return false }
        state = .serving
        return true
    }

    /// True when a drain begins now (stop accepting, close idle connections, arm the deadline).
    mutating func drainRequested() -> Bool {
        switch state {
        case .booting: state = .draining(acceptorRunning: false)
        case .serving: state = .draining(acceptorRunning: true)
        case .draining, .exiting: return false
        }
        return true
    }

    mutating func acceptorStopped() {
        if state == .draining(acceptorRunning: true) { state = .draining(acceptorRunning: false) }
    }

    /// True when the worker should exit now: drained, with nothing left to serve.
    mutating func shouldExit(connections: Int, inflight: Int) -> Bool {
        guard state == .draining(acceptorRunning: false), connections == 0, inflight == 0 else { return false }
        state = .exiting
        return true
    }

    /// The graceful timeout ended: true when the worker should go now, whatever remains.
    mutating func deadlineReached() -> Bool {
        guard case .draining = state else { return false }
        state = .exiting
        return true
    }
}
