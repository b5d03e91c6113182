import Foundation
import Logging
import Mailbox
import PulseControl

/// Everything the arbiter runs with, decided by the command line or by an
/// executable that embeds Pulsar.
public struct ArbiterConfiguration: Sendable {
    /// One supervised service: a name, its addresses and how many workers serve them.
    public struct Service: Sendable {
        public var name: String
        public var binds: [Bind]
        public var workers: Int
        /// A service the arbiter runs for the others (the data store): one process,
        /// not scaled, reloaded or switched unless named, never the default target.
        public var auxiliary: Bool
        /// What its addresses are URLs of in the log and the status: `http`, or
        /// `redis` for the data store.
        public var scheme: String
        /// When its first address's port is taken, listen on one the OS picks
        /// instead (the data store's default port, so a second `pulse` starts).
        public var portMayMove: Bool
        /// Bounds within which the arbiter adds and removes workers by load; nil keeps `workers`.
        public var autoscale: AutoscaleBounds?
        public init(name: String, binds: [Bind], workers: Int, auxiliary: Bool = false,
                    scheme: String = "http", portMayMove: Bool = false, autoscale: AutoscaleBounds? = nil) {
            self.autoscale = autoscale
            self.name = name
            self.binds = binds
            self.workers = workers
            self.auxiliary = auxiliary
            self.scheme = scheme
            self.portMayMove = portMayMove
        }
    }

    public var services: [Service]
    /// Seconds without a heartbeat before a worker is killed; 0 disables.
    public var timeout: Double = 30
    /// Seconds a draining worker may take before it is killed.
    public var gracefulTimeout: Double = 30
    /// Seconds between SIGTERM and SIGKILL for a worker that timed out.
    public var killGrace: Double = 3
    public var maxRequests = 0
    public var maxRequestsJitter = 0
    /// Bytes of resident memory beyond which a worker is replaced (0: never).
    public var maxWorkerMemory = 0
    public var pidfile: String?
    /// Where `/metrics`, `/healthz` and `/readyz` are served; nil serves none.
    public var metricsBind: Bind?
    public var controlPath: String = ControlDiscovery.socketPath(pid: getpid())
    public var logFile: String?
    public var logLevel: Logger.Level = .info
    public var workerSettings = WorkerSettings()
    public var restartPolicy = RestartPolicy()
    /// The executable spawned for workers: this one, as it is on disk now, so a
    /// rolling reload picks up a rebuilt binary.
    public var executable: String = currentExecutable()
    /// The service that runs the embedded data store, and the database apps use:
    /// workers are told its real address (the port may have been 0).
    public var embeddedDataStore: (service: String, database: Int)?
    /// Reads the configuration again (SIGHUP): the command line with the config file
    /// and environment as they are now. Nil when there is nothing to re-read.
    public var reread: (@Sendable () -> Result<ArbiterConfiguration, any Error>)?
    /// Arguments for the dashboard process the arbiter runs on its terminal; nil runs headless.
    public var dashboardArguments: [String]?

    public init(services: [Service]) { self.services = services }
}

/// The path of the running executable.
public func currentExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/proc/self/exe"
}
