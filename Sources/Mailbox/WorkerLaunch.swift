/// Everything a spawned worker process needs to know, handed over in one
/// environment variable (`WorkerLaunch.environmentKey`) as JSON.
///
/// File descriptors are numbers in the worker's own table: the arbiter places the
/// listening sockets at `listenFDs` and the mailbox at `mailboxFD` before exec.
public struct WorkerLaunch: Codable, Sendable, Equatable {
    public static let environmentKey = "PULSE_WORKER"

    public var service: String
    public var id: Int
    public var binds: [Bind]
    public var listenFDs: [Int32]
    public var mailboxFD: Int32
    public var arbiterPID: Int32
    public var settings: WorkerSettings

    public init(service: String, id: Int, binds: [Bind], listenFDs: [Int32], mailboxFD: Int32,
                arbiterPID: Int32, settings: WorkerSettings) {
        self.service = service
        self.id = id
        self.binds = binds
        self.listenFDs = listenFDs
        self.mailboxFD = mailboxFD
        self.arbiterPID = arbiterPID
        self.settings = settings
    }

    /// The worker's name in logs and titles, such as `web.3`.
    public var name: String { "\(service).\(id)" }
}

/// The settings a worker runs with; the arbiter's command line decides them.
public struct WorkerSettings: Codable, Sendable, Equatable {
    /// Seconds a draining worker waits for requests in flight before it exits anyway.
    public var gracefulTimeout: Double = 30
    /// Requests after which the worker asks to be replaced; 0 never.
    public var maxRequests: Int = 0
    /// Seconds an idle keep-alive connection stays open.
    public var keepAlive: Double = 5
    /// swift-log level name.
    public var logLevel: String = "info"
    /// Seconds between heartbeats.
    public var heartbeatInterval: Double = 1

    public init() {}
}

/// The version the `Server` header, the status and the dashboard show.
public let pulsarVersion = "0.1.0"
