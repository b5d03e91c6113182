/// What a service is doing as a whole.
public enum ServiceState: String, Codable, Sendable {
    case running
    /// Workers failed to boot too often in a row; respawning waits for `pulse ctl restart`.
    case errored
    case stopping
}

/// Where a worker is in its life, as the status and the dashboard show it.
public enum WorkerState: String, Codable, Sendable {
    case booting
    case ready
    case draining
}

/// Why the arbiter asked a worker to go, when it did.
public enum ExitIntent: String, Codable, Sendable, Equatable {
    case scaleDown = "scale-down"
    case reload
    case restart
    case recycle
    /// Over `--max-worker-memory` for several samples in a row.
    case memory
    case shutdown
    case timeout
    case operatorKill = "operator-kill"

    /// Intents that end with a graceful drain rather than a kill.
    public var drains: Bool {
        switch self {
        case .scaleDown, .reload, .restart, .recycle, .memory, .shutdown: true
        case .timeout, .operatorKill: false
        }
    }
}

/// The embedded dashboard's exit codes the arbiter reads.
public enum DashboardExit {
    /// The operator pressed `d`: the server runs on headless, even when the
    /// terminal hangs up.
    public static let detached: Int32 = 3
}
