import Mailbox

/// The whole state of an arbiter at one moment: what `pulse ctl status --json`
/// prints and what the dashboard draws. Keys are snake_case in JSON.
public struct StatusSnapshot: Codable, Sendable {
    public var arbiter: ArbiterStatus
    public var services: [ServiceStatus]

    public init(arbiter: ArbiterStatus, services: [ServiceStatus]) {
        self.arbiter = arbiter
        self.services = services
    }
}

public struct ArbiterStatus: Codable, Sendable {
    public var pid: Int32
    public var version: String
    /// `running` or `stopping`.
    public var state: String
    public var uptimeS: Double
    public var control: String
    public var pidfile: String?
    public var logFile: String?
    /// Where `--metrics` serves, as a URL.
    public var metrics: String?

    public init(pid: Int32, version: String, state: String, uptimeS: Double, control: String,
                pidfile: String?, logFile: String?, metrics: String? = nil) {
        self.metrics = metrics
        self.pid = pid
        self.version = version
        self.state = state
        self.uptimeS = uptimeS
        self.control = control
        self.pidfile = pidfile
        self.logFile = logFile
    }
}

extension ServiceStatus {
    /// The workers whose app could not reach the data store on its last attempt.
    public var dataStoreUnreachable: [String] {
        workers.filter { $0.dataStoreReachable == false }.map(\.name)
    }
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
    /// Rolling reloads and restarts since the arbiter started.
    public var reloads: Int?
    /// Seconds the worker being replaced now has waited for its replacement to be
    /// ready (failed boots included); absent when nothing is being replaced.
    public var replacingForS: Double?
    /// Worker exits since the arbiter started, by kind (`crash`, `boot-failure`,
    /// `timeout`, `reload`, `scale-down`...).
    public var exits: [String: Int]?
    /// Present while the arbiter scales the service by its load.
    public var autoscale: AutoscaleStatus?

    public init(name: String, binds: [String], urls: [String], targetWorkers: Int, mode: ExecutionMode,
                auxiliary: Bool, liveWorkers: Int, state: ServiceState, consecutiveFailures: Int,
                nextSpawnInS: Double?, workers: [WorkerStatus], recentExits: [RecentExitStatus],
                reloads: Int? = nil, exits: [String: Int]? = nil, replacingForS: Double? = nil,
                autoscale: AutoscaleStatus? = nil) {
        self.autoscale = autoscale
        self.replacingForS = replacingForS
        self.reloads = reloads
        self.exits = exits
        self.name = name
        self.binds = binds
        self.urls = urls
        self.targetWorkers = targetWorkers
        self.mode = mode
        self.auxiliary = auxiliary
        self.liveWorkers = liveWorkers
        self.state = state
        self.consecutiveFailures = consecutiveFailures
        self.nextSpawnInS = nextSpawnInS
        self.workers = workers
        self.recentExits = recentExits
    }
}

/// A service's autoscaling: its bounds and the last change it made, such as
/// `2 -> 3 workers: pool 20/20 busy, queue 35, for 3 s`.
public struct AutoscaleStatus: Codable, Sendable, Equatable {
    public var min: Int
    public var max: Int
    public var lastDecision: String?
    /// Seconds since `lastDecision`.
    public var lastDecisionAgeS: Double?

    public init(min: Int, max: Int, lastDecision: String? = nil, lastDecisionAgeS: Double? = nil) {
        self.min = min
        self.max = max
        self.lastDecision = lastDecision
        self.lastDecisionAgeS = lastDecisionAgeS
    }
}

/// One worker as the status shows it: what the arbiter knows of the process, and
/// the worker's last heartbeat (`report`), whose fields appear at the same level in
/// JSON and read as properties here (`worker.requests`). A field added to
/// `WorkerReport` reaches the status and the dashboard with no copy to write.
@dynamicMemberLookup
public struct WorkerStatus: Codable, Sendable {
    public var id: Int
    public var name: String
    public var pid: Int32
    public var state: WorkerState
    public var intent: ExitIntent?
    public var uptimeS: Double
    public var rps: Double
    public var lastHeartbeatMs: Int
    public var restarts: Int
    public var rssBytes: Int
    public var cpuPercent: Double
    public var report: WorkerReport

    public init(id: Int, name: String, pid: Int32, state: WorkerState, intent: ExitIntent?, uptimeS: Double,
                rps: Double, lastHeartbeatMs: Int, restarts: Int, rssBytes: Int, cpuPercent: Double,
                report: WorkerReport) {
        self.id = id
        self.name = name
        self.pid = pid
        self.state = state
        self.intent = intent
        self.uptimeS = uptimeS
        self.rps = rps
        self.lastHeartbeatMs = lastHeartbeatMs
        self.restarts = restarts
        self.rssBytes = rssBytes
        self.cpuPercent = cpuPercent
        self.report = report
    }

    public subscript<Value>(dynamicMember keyPath: KeyPath<WorkerReport, Value>) -> Value {
        report[keyPath: keyPath]
    }

    private enum CodingKeys: String, CodingKey {
        case id, name, pid, state, intent, uptimeS, rps, lastHeartbeatMs, restarts, rssBytes, cpuPercent
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(Int.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        pid = try container.decode(Int32.self, forKey: .pid)
        state = try container.decode(WorkerState.self, forKey: .state)
        intent = try container.decodeIfPresent(ExitIntent.self, forKey: .intent)
        uptimeS = try container.decode(Double.self, forKey: .uptimeS)
        rps = try container.decode(Double.self, forKey: .rps)
        lastHeartbeatMs = try container.decode(Int.self, forKey: .lastHeartbeatMs)
        restarts = try container.decode(Int.self, forKey: .restarts)
        rssBytes = try container.decode(Int.self, forKey: .rssBytes)
        cpuPercent = try container.decode(Double.self, forKey: .cpuPercent)
        report = try WorkerReport(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(pid, forKey: .pid)
        try container.encode(state, forKey: .state)
        try container.encodeIfPresent(intent, forKey: .intent)
        try container.encode(uptimeS, forKey: .uptimeS)
        try container.encode(rps, forKey: .rps)
        try container.encode(lastHeartbeatMs, forKey: .lastHeartbeatMs)
        try container.encode(restarts, forKey: .restarts)
        try container.encode(rssBytes, forKey: .rssBytes)
        try container.encode(cpuPercent, forKey: .cpuPercent)
    }
}

public struct RecentExitStatus: Codable, Sendable {
    public var worker: String
    public var pid: Int32
    public var reason: String
    public var ageS: Double
    public var failure: Bool
    /// The requests it was serving when it ended, longest first: `GET /cpu?ms=9000 (3.1s)`.
    public var inflight: [String]?

    public init(worker: String, pid: Int32, reason: String, ageS: Double, failure: Bool, inflight: [String]? = nil) {
        self.inflight = inflight
        self.worker = worker
        self.pid = pid
        self.reason = reason
        self.ageS = ageS
        self.failure = failure
    }
}
