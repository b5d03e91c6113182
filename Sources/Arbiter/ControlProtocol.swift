import Mailbox

/// A command sent to the arbiter's control socket: one JSON object per line.
///
/// `command` is one of `status`, `logs`, `scale`, `workers`, `mode`, `reload`,
/// `restart`, `kill`, `stop`; `argument` carries `+2`, `3`, `cooperative`, a worker
/// name such as `web.2`, the last log sequence number seen, or `now` for `stop`.
public struct ControlRequest: Codable, Sendable, Equatable {
    public var command: String
    public var argument: String?
    public var service: String?

    public init(command: String, argument: String? = nil, service: String? = nil) {
        self.command = command
        self.argument = argument
        self.service = service
    }
}

/// The arbiter's answer to a `ControlRequest`.
public struct ControlResponse: Codable, Sendable {
    public var ok: Bool
    public var message: String?
    public var status: StatusSnapshot?
    /// For `logs`: the lines after the sequence number asked for.
    public var logs: [LogEntry]?

    public init(ok: Bool, message: String? = nil, status: StatusSnapshot? = nil, logs: [LogEntry]? = nil) {
        self.ok = ok
        self.message = message
        self.status = status
        self.logs = logs
    }
}

/// The whole state of an arbiter at one moment: what `pulse ctl status --json`
/// prints and what the dashboard draws. Keys are snake_case in JSON.
public struct StatusSnapshot: Codable, Sendable {
    public var arbiter: ArbiterStatus
    public var services: [ServiceStatus]
}

public struct ArbiterStatus: Codable, Sendable {
    public var pid: Int32
    public var version: String
    public var state: String
    public var uptimeS: Double
    public var control: String
    public var pidfile: String?
    public var logFile: String?
}

public struct ServiceStatus: Codable, Sendable {
    public var name: String
    public var binds: [String]
    public var urls: [String]
    public var targetWorkers: Int
    public var mode: ExecutionMode
    /// Runs for the other services (the data store); not a default target of commands.
    public var auxiliary: Bool
    public var liveWorkers: Int
    public var state: ServiceState
    public var consecutiveFailures: Int
    public var nextSpawnInS: Double?
    public var workers: [WorkerStatus]
    public var recentExits: [RecentExitStatus]
}

public struct WorkerStatus: Codable, Sendable {
    public var id: Int
    public var name: String
    public var pid: Int32
    public var state: WorkerState
    public var intent: ExitIntent?
    public var uptimeS: Double
    public var requests: Int
    public var statusClasses: [Int]
    public var rps: Double
    public var inflight: Int
    public var connections: Int
    public var bytesIn: Int
    public var bytesOut: Int
    public var lastHeartbeatMs: Int
    public var restarts: Int
    public var rssBytes: Int
    public var cpuPercent: Double
    public var loopLagMs: Double
    public var mode: String?
    public var threads: PoolOccupancy?
    public var green: PoolOccupancy?
    public var queue: Int?
    public var websockets: Int?
    public var latencyMs: LatencySummary?
    public var dataStore: DataStoreFigures?
    public var database: DatabaseFigures?
}

public struct RecentExitStatus: Codable, Sendable {
    public var worker: String
    public var pid: Int32
    public var reason: String
    public var ageS: Double
    public var failure: Bool
}
