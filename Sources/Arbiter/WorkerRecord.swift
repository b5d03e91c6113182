import Mailbox

/// Where a worker is in its life, as the status and the dashboard show it.
public enum WorkerState: String, Codable, Sendable {
    case booting
    case ready
    case draining
}

/// One row of a monitor's worker table: what the arbiter knows of one worker process.
public struct WorkerRecord: Sendable {
    public let id: Int
    public internal(set) var pid: Int32 = 0
    public internal(set) var isReady = false
    public let spawnedAt: Double
    public internal(set) var readyAt: Double?
    public internal(set) var lastHeartbeatAt: Double
    /// Set once the arbiter has asked the worker to go; such a worker no longer counts.
    public internal(set) var intent: ExitIntent?
    /// The old worker this one is booting to replace (reload, recycle, restart).
    public internal(set) var replaces: Int?
    /// The new worker booting to replace this one.
    public internal(set) var replacedBy: Int?
    public internal(set) var report = WorkerReport()
    public internal(set) var rps: Double = 0
    public internal(set) var rssBytes: Int = 0
    public internal(set) var cpuPercent: Double = 0
    /// When the arbiter sends SIGKILL if the worker is still there.
    var killAt: Double?
    var lastRequestSample: (requests: Int, at: Double)?

    init(id: Int, spawnedAt: Double) {
        self.id = id
        self.spawnedAt = spawnedAt
        self.lastHeartbeatAt = spawnedAt
    }

    public var state: WorkerState {
        if intent != nil { return .draining }
        return isReady ? .ready : .booting
    }

    /// Counts toward the service's worker target.
    var isLive: Bool { intent == nil }
}
