import NIOConcurrencyHelpers

/// Lets a connection cancel its request's task (the client went away), whether the
/// request is still queued or already running. Copies share one state: a struct
/// around the locked box, so a request allocates one object for it, not two.
struct RequestToken: Sendable {
    private struct State {
        var task: Task<Void, Never>?
        var cancelled = false
    }
    private let state = NIOLockedValueBox(State())

    func cancel() {
        let task = state.withLockedValue { state in
            state.cancelled = true
            return state.task
        }
        task?.cancel()
    }

    /// The request's task started: cancelled at once if its client already left.
    func attach(_ task: Task<Void, Never>) {
        let cancelled = state.withLockedValue { state in
            state.task = task
            return state.cancelled
        }
        if cancelled { task.cancel() }
    }
}
