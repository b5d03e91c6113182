/// A message a worker sends to its arbiter over its mailbox.
public enum WorkerMessage: Codable, Sendable, Equatable {
    /// Booted and accepting connections.
    case ready(pid: Int32)
    /// Sent about once a second from the worker's event loop, so a blocked loop falls silent.
    case heartbeat(WorkerReport)
    /// The worker reached `--max-requests` and asks to be replaced.
    case retire(requests: Int)
}

/// A message the arbiter sends to one of its workers.
public enum ArbiterMessage: Codable, Sendable, Equatable {
    /// Stop accepting, finish requests in flight within `graceSeconds`, then exit 0.
    case drain(graceSeconds: Double)
    /// Run new requests in this mode; requests in flight finish where they are.
    case mode(ExecutionMode)
    /// Open the log files again by their names (the arbiter got SIGUSR1).
    case reopenLogs
}
