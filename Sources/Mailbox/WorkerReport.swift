/// What a worker tells the arbiter about itself with every heartbeat.
///
/// Counters are totals since the worker started; the arbiter derives rates from
/// them. Optional figures are those a worker may not have (an execution pool it
/// does not run, for instance) and are omitted rather than invented.
public struct WorkerReport: Codable, Sendable, Equatable {
    public var requests: Int = 0
    /// Requests answered, by status class: index 0 is 1xx ... index 4 is 5xx.
    public var statusClasses: [Int] = [0, 0, 0, 0, 0]
    public var inflight: Int = 0
    public var connections: Int = 0
    public var bytesIn: Int = 0
    public var bytesOut: Int = 0
    /// How late the heartbeat timer fired, in milliseconds: a busy or blocked event loop shows here.
    public var loopLagMs: Double = 0
    public var mode: String?
    public var threads: PoolOccupancy?
    public var green: PoolOccupancy?
    public var queue: Int?
    public var websockets: Int?
    public var latencyMs: LatencySummary?
    /// Requests answered since the worker started, by response time: one count per
    /// bound of `latencyBucketBounds`, then one for slower. With `latencySumS`,
    /// what a Prometheus histogram needs.
    public var latencyBuckets: [Int]?
    /// The response times of those requests added up, in seconds.
    public var latencySumS: Double?
    /// For the data store's worker: its keyspace and pub/sub.
    public var dataStore: DataStoreFigures?
    /// For a worker whose app uses the data store: whether it answered the last attempt.
    public var dataStoreReachable: Bool?
    /// The worker's PostgreSQL pool, when `--database` is given.
    public var database: DatabaseFigures?

    public init() {}

    /// Upper bounds of the latency buckets, in seconds: Prometheus's defaults.
    public static let latencyBucketBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
}

/// What the embedded data store reports with each heartbeat.
public struct DataStoreFigures: Codable, Sendable, Equatable {
    public var keys: Int
    public var channels: Int
    public var subscribers: Int
    /// Connections open to the store now.
    public var clients: Int?
    public init(keys: Int, channels: Int, subscribers: Int, clients: Int? = nil) {
        self.clients = clients
        self.keys = keys
        self.channels = channels
        self.subscribers = subscribers
    }
}

/// Busy and total slots of an execution pool.
public struct PoolOccupancy: Codable, Sendable, Equatable {
    public var busy: Int
    public var size: Int
    public init(busy: Int, size: Int) { self.busy = busy; self.size = size }
}

/// Latency percentiles over the last heartbeat interval, in milliseconds.
public struct LatencySummary: Codable, Sendable, Equatable {
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var max: Double
    public init(p50: Double, p90: Double, p99: Double, max: Double) {
        self.p50 = p50; self.p90 = p90; self.p99 = p99; self.max = max
    }
}

/// A worker's database pool: connections in use, its size, callers waiting.
public struct DatabaseFigures: Codable, Sendable, Equatable {
    public var inUse: Int
    public var size: Int
    public var waiting: Int
    public init(inUse: Int, size: Int, waiting: Int) {
        self.inUse = inUse
        self.size = size
        self.waiting = waiting
    }
}
