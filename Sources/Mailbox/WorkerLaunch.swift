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
    /// The scoreboard's shared memory, where the worker writes the requests it
    /// serves for the arbiter to read (absent if the arbiter could not make one).
    public var scoreboardFD: Int32?
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
    /// How handlers run when the worker starts; the arbiter may switch it later.
    public var mode: ExecutionMode = .thread
    /// OS threads of the thread pool (`--thread-workers`).
    public var threadWorkers: Int = 10
    /// Tasks the cooperative pool runs at once (`--greenlet`).
    public var greenlets: Int = 100
    /// Requests waiting for a free slot beyond which new ones get 503.
    public var maxQueue: Int = 1024
    /// Largest request body read before the handler runs, in bytes.
    public var maxBody: Int = 10 * 1024 * 1024
    /// Seconds a client has to send a request's headers (408 after that).
    public var headerTimeout: Double = 10
    /// Most header fields in a request (431 beyond).
    public var maxHeaderCount: Int = 100
    /// Most bytes of header names and values in a request (431 beyond).
    public var maxHeaderBytes: Int = 16 * 1024
    /// Peers whose `X-Forwarded-For` is believed: addresses, or `*` for any.
    public var forwardedAllowIPs: [String] = []
    /// `--access-log`: an absolute path, or `-` for the merged log; nil logs none.
    public var accessLog: String?
    /// `--access-log-format`: `common`, `combined` or `json`.
    public var accessLogFormat = "common"
    /// Largest WebSocket message, reassembled, in bytes (close 1009 beyond).
    public var maxWebSocketMessage: Int = 1 << 20
    /// Seconds between keep-alive pings on an idle WebSocket.
    public var webSocketPing: Double = 20
    /// `--websocket-deflate`: agree to permessage-deflate (RFC 7692) when a client offers it.
    public var webSocketDeflate = false
    /// The data store's password (`--ds-password`), for its own worker and its clients.
    public var dataStorePassword: String?
    /// Where the app's data store is, as a client URL (`pulsar://` or `redis://`);
    /// for the embedded store, with the port it really got.
    public var dataStoreURL: String?
    /// PostgreSQL for the app (`--database`), and its pool size per worker
    /// (`--db-pool`; nil: the size of the current mode's pool, as pulsar had one
    /// connection per green worker).
    public var database: String?
    public var databasePool: Int?
    /// The data store's snapshot file (`--ds-file`), loaded at start.
    public var dataStoreFile: String?
    /// `SECONDS:CHANGES` save rules (`--ds-save`).
    public var dataStoreSaveRules: [String] = []

    public init() {}
}

/// Where a worker runs its handlers.
public enum ExecutionMode: String, Codable, Sendable, CaseIterable {
    /// On a bounded pool of OS threads: blocking calls are allowed and occupy one thread.
    case thread
    /// As lightweight tasks on the worker's event loop: blocking stalls the whole worker.
    case cooperative
}

/// The version the `Server` header, the status and the dashboard show.
public let pulsarVersion = "0.1.0"
