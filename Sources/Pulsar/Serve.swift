import Arbiter
import PulseControl
import ArgumentParser
import Dashboard
import DataStore
import Foundation
import Logging

/// `pulse [serve]`: start the arbiter and its workers.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the arbiter: bind, spawn workers, supervise them.",
        discussion: """
            Signals: TERM or INT drain and exit (a second INT, or QUIT, stops at once); \
            HUP reloads the workers one by one (a hang-up of the terminal shuts down); TTIN and TTOU add and remove a worker; USR1 reopens --log-file.
            """)

    @Option(help: ArgumentHelp("Read flags from this YAML file (keys are the long flags: `workers: 4`); PULSE_* variables too (PULSE_WORKERS=4). The command line wins, then the environment. SIGHUP reads them again.", valueName: "path"))
    var config: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Address to listen on: HOST:PORT, :PORT or unix:PATH. Repeatable.", valueName: "address"))
    var bind: [String] = []

    @Option(name: [.short, .long], help: "Worker processes per service.")
    var workers: Int = 2

    @Option(help: ArgumentHelp("Add and remove workers by load, between MIN and MAX: one more when the pool stays busy or requests queue, one fewer (drained) when it stays idle.", valueName: "min:max"))
    var autoscale: String?

    @Option(help: "Seconds without a heartbeat before a worker is killed and replaced; 0 disables.")
    var timeout: Double = 30

    @Option(name: .customLong("graceful-timeout"), help: "Seconds a draining worker may finish its requests.")
    var gracefulTimeout: Double = 30

    @Option(name: .customLong("max-requests"), help: "Replace a worker after this many requests; 0 never.")
    var maxRequests: Int = 0

    @Option(name: .customLong("max-requests-jitter"), help: "Add up to this many requests, at random, to --max-requests per worker.")
    var maxRequestsJitter: Int = 0

    @Option(name: .customLong("max-worker-memory"), help: ArgumentHelp("Replace a worker whose resident memory stays above this (K, M and G suffixes allowed), new one ready first.", valueName: "size"))
    var maxWorkerMemory: String?

    @Option(name: .customLong("keep-alive"), help: "Seconds an idle keep-alive connection stays open.")
    var keepAlive: Double = 5

    @Option(name: .customLong("thread-workers"), help: "OS threads per worker that run handlers in thread mode.")
    var threadWorkers: Int = 10

    @Option(help: ArgumentHelp("Run handlers cooperatively on the event loop, at most N at once per worker (N defaults to 100).", valueName: "N"))
    var greenlet: Int?

    @Option(help: "The starting execution mode: thread or cooperative (default: thread, or cooperative with --greenlet).")
    var mode: String?

    @Option(name: .customLong("max-queue"), help: "Requests waiting for a free thread or task beyond which new ones get 503.")
    var maxQueue: Int = 1024

    @Option(name: .customLong("max-body"), help: "Largest request body, in bytes (K, M and G suffixes allowed); 413 beyond.")
    var maxBody: String = "10M"

    @Option(name: .customLong("header-timeout"), help: "Seconds a client has to send a request's headers; 408 after that.")
    var headerTimeout: Double = 10

    @Option(name: .customLong("websocket-ping"), help: "Seconds between keep-alive pings on an idle WebSocket; one unanswered closes it.")
    var webSocketPing: Double = 20

    @Flag(name: .customLong("websocket-deflate"), help: "Compress WebSocket messages (permessage-deflate, RFC 7692) with clients that offer it.")
    var webSocketDeflate = false

    @Option(name: .customLong("data-store"), help: "pulsar://HOST:PORT/DB runs the embedded data store there; redis://HOST:PORT/DB uses a Redis instead (default: pulsar://127.0.0.1:6410/0, or a port the OS picks when 6410 is taken).")
    var dataStore: String?

    @Option(name: .customLong("ds-password"), help: "A password the embedded data store asks for (AUTH).")
    var dataStorePassword: String?

    @Option(name: .customLong("ds-file"), help: "The embedded data store's snapshot: written by SAVE, BGSAVE and save rules, loaded at start.")
    var dataStoreFile: String = "pulse-data.snapshot"

    @Option(name: .customLong("ds-save"), help: ArgumentHelp("Snapshot after SECONDS if at least CHANGES writes happened. Repeatable.", valueName: "seconds:changes"))
    var dataStoreSave: [String] = []

    @Option(help: "PostgreSQL for the app: postgres://user:pass@host:port/db (or the PG* environment variables with 'env').")
    var database: String?

    @Option(name: .customLong("db-pool"), help: "Database connections per worker (default: the size of the current mode's pool).")
    var dbPool: Int?

    @Option(name: .customLong("forwarded-allow-ips"), help: "Comma-separated peer addresses whose X-Forwarded-For is trusted, or '*'.")
    var forwardedAllowIPs: String = ""

    @Option(help: ArgumentHelp("Serve Prometheus metrics (/metrics) and health checks (/healthz, /readyz) at this address, as in 127.0.0.1:9060.", valueName: "address"))
    var metrics: String?

    @Option(help: "Write the arbiter's pid here; refuse to start if it names a live process.")
    var pidfile: String?

    @Option(help: "The control socket for `pulse ctl` and `pulse top` (default: pulse-PID.sock in $XDG_RUNTIME_DIR/pulse, else /tmp/pulse-UID; they find it).")
    var control: String?

    @Option(name: .customLong("log-file"), help: "Also append the merged log to this file.")
    var logFile: String?

    @Option(name: .customLong("access-log"), help: ArgumentHelp("Log every answered request to this file, or to the merged log with '-'.", valueName: "path"))
    var accessLog: String?

    @Option(name: .customLong("access-log-format"), help: "common, combined or json.")
    var accessLogFormat: String = "common"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(name: .customLong("no-dashboard"), help: "Run headless, logging to stderr (also when stdout is not a terminal, or TERM=dumb).")
    var noDashboard = false

    @Option(help: "The dashboard layout: a name from layouts/ (default, compact, logs, wide) or a file's path.")
    var layout: String = "default"

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1 (got \(workers))") }
        if let autoscale, autoscaleBounds == nil {
            throw ValidationError("--autoscale must be MIN:MAX with 1 <= MIN <= MAX <= \(Monitor.maximumTarget), as in 1:4 (got '\(autoscale)')")
        }
        guard timeout >= 0 else { throw ValidationError("--timeout must be 0 (disabled) or more seconds (got \(timeout))") }
        guard gracefulTimeout >= 0 else { throw ValidationError("--graceful-timeout must not be negative (got \(gracefulTimeout))") }
        guard maxRequests >= 0 else { throw ValidationError("--max-requests must not be negative (got \(maxRequests))") }
        guard maxRequestsJitter >= 0 else { throw ValidationError("--max-requests-jitter must not be negative (got \(maxRequestsJitter))") }
        guard keepAlive > 0 else { throw ValidationError("--keep-alive must be more than 0 seconds (got \(keepAlive))") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical (got '\(logLevel)')")
        }
        guard threadWorkers >= 1 else { throw ValidationError("--thread-workers must be at least 1 (got \(threadWorkers))") }
        if let greenlet, greenlet < 1 { throw ValidationError("--greenlet must be at least 1 (got \(greenlet))") }
        if let mode, ExecutionMode(rawValue: mode) == nil {
            throw ValidationError("--mode must be thread or cooperative (got '\(mode)')")
        }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue must not be negative (got \(maxQueue))") }
        if let maxWorkerMemory, (parseByteCount(maxWorkerMemory) ?? 0) < 1 << 20 {
            throw ValidationError("--max-worker-memory must be a size of at least 1M, such as 512M or 2G (got '\(maxWorkerMemory)')")
        }
        guard parseByteCount(maxBody) != nil else {
            throw ValidationError("--max-body must be a byte count such as 1048576, 512K or 10M (got '\(maxBody)')")
        }
        if let dataStore, DataStoreURL(dataStore) == nil {
            throw ValidationError("--data-store must be pulsar://HOST:PORT/DB or redis://HOST:PORT/DB with DB 0-15 (got '\(dataStore)')")
        }
        for rule in dataStoreSave where SaveRule(parsing: rule) == nil {
            throw ValidationError("--ds-save must be SECONDS:CHANGES with both above 0, as in 60:1000 (got '\(rule)')")
        }
        if let database, database != "env", !(database.hasPrefix("postgres://") || database.hasPrefix("postgresql://")) {
            throw ValidationError("--database must be postgres://USER[:PASSWORD]@HOST[:PORT]/DB or env (got '\(database)')")
        }
        if let dbPool, dbPool < 1 { throw ValidationError("--db-pool must be at least 1 (got \(dbPool))") }
        guard webSocketPing > 0 else { throw ValidationError("--websocket-ping must be more than 0 seconds (got \(webSocketPing))") }
        guard headerTimeout > 0 else { throw ValidationError("--header-timeout must be more than 0 seconds (got \(headerTimeout))") }
        for text in bind {
            do { _ = try Bind(parsing: text) } catch { throw ValidationError("--bind: \(error)") }
        }
        if !["common", "combined", "json"].contains(accessLogFormat) {
            throw ValidationError("--access-log-format must be common, combined or json (got '\(accessLogFormat)')")
        }
        if let accessLog, accessLog != "-" {
            let fd = open(absolutePath(accessLog), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ValidationError("--access-log: cannot open \(accessLog): \(String(cString: strerror(errno)))") }
            close(fd)
        }
        if let metrics {
            do { _ = try Bind(parsing: metrics) } catch { throw ValidationError("--metrics: \(error)") }
        }
        if wantsDashboard {
            do { _ = try LayoutLibrary.standard(executable: currentExecutable()).load(layout) } catch {
                throw ValidationError("--layout: \(error)")
            }
        }
    }

    func run() throws {
        let commandLine = Self.commandLineArguments()
        let layered = try Self.layered(commandLine: commandLine, configPath: config)
        var configuration = try layered.makeConfiguration()
        let configPath = layered.config
        configuration.reread = {
            do {
                return .success(try Self.layered(commandLine: commandLine, configPath: configPath).makeConfiguration())
            } catch {
                return .failure(ConfigLayers.Failure(description: Self.message(for: error)))
            }
        }
        if layered.wantsDashboard {
            let path = layered.layout.contains("/") ? absolutePath(layered.layout) : layered.layout
            configuration.dashboardArguments = ["top", "--embedded", "--control", configuration.controlPath, "--layout", path]
        }
        let sink: LogSink
        do {
            sink = try LogSink(toStderr: true, filePath: configuration.logFile, minimumLevel: configuration.logLevel)
        } catch {
            throw ValidationError("\(error)")
        }
        let code = Arbiter.run(configuration, sink: sink)
        if code != 0 { throw ExitCode(code) }
    }

    /// The arguments `pulse` was given for this command (`serve` itself dropped).
    static func commandLineArguments() -> [String] {
        var arguments = withGreenletDefault(Array(CommandLine.arguments.dropFirst()))
        if arguments.first == "serve" { arguments.removeFirst() }
        return arguments
    }

    /// The command line with the environment's and the config file's settings for
    /// whatever it does not set; each of those checked alone, so that an error names
    /// where the value came from.
    static func layered(commandLine: [String], configPath: String?) throws -> Serve {
        let variables = ProcessInfo.processInfo.environment
        let path = configPath ?? variables["PULSE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            let layers = ConfigLayers.arguments(commandLine: commandLine, environment: try ConfigLayers.environment(variables),
                                                file: try path.map { try ConfigLayers.file(absolutePath($0)) } ?? [])
            for layer in layers {
                do { _ = try Serve.parse(layer.arguments) } catch {
                    throw ValidationError("\(layer.origin): \(Serve.message(for: error))")
                }
            }
            var merged = try Serve.parse(layers.flatMap(\.arguments) + commandLine)
            merged.config = path
            return merged
        } catch let failure as ConfigLayers.Failure {
            throw ValidationError(failure.description)
        }
    }

    /// Everything but the dashboard and the log sink, from this command line.
    func makeConfiguration() throws -> ArbiterConfiguration {
        let cliBinds = try bind.isEmpty ? [Bind.default] : bind.map { try Bind(parsing: $0) }
        let services = ServiceRegistry.services.withLockedValue { $0 }
        let bounds = autoscaleBounds
        var configuration = ArbiterConfiguration(services: services.map {
            let count = $0.workers ?? workers
            return ArbiterConfiguration.Service(name: $0.name, binds: $0.binds ?? cliBinds,
                                                workers: bounds?.clamp(count) ?? count, autoscale: bounds)
        })
        let store = dataStore.flatMap(DataStoreURL.init) ?? .default
        if store.kind == .embedded {
            configuration.services.append(ArbiterConfiguration.Service(
                name: DataStoreService.name, binds: [.tcp(host: store.host, port: store.port)], workers: 1, auxiliary: true,
                scheme: "redis", portMayMove: dataStore == nil))
            configuration.embeddedDataStore = (DataStoreService.name, store.database)
        } else {
            configuration.workerSettings.dataStoreURL = dataStore
        }
        configuration.timeout = timeout
        configuration.gracefulTimeout = gracefulTimeout
        configuration.maxRequests = maxRequests
        configuration.maxRequestsJitter = maxRequestsJitter
        configuration.maxWorkerMemory = maxWorkerMemory.flatMap(parseByteCount) ?? 0
        configuration.pidfile = pidfile.map(absolutePath)
        configuration.metricsBind = try metrics.map { try Bind(parsing: $0) }
        configuration.controlPath = absolutePath(control ?? ControlDiscovery.socketPath(pid: getpid()))
        configuration.logFile = logFile.map(absolutePath)
        configuration.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        configuration.workerSettings.keepAlive = keepAlive
        configuration.workerSettings.logLevel = logLevel
        configuration.workerSettings.threadWorkers = threadWorkers
        configuration.workerSettings.greenlets = greenlet ?? 100
        configuration.workerSettings.mode = mode.flatMap(ExecutionMode.init(rawValue:)) ?? (greenlet != nil ? .cooperative : .thread)
        configuration.workerSettings.maxQueue = maxQueue
        configuration.workerSettings.maxBody = parseByteCount(maxBody) ?? 10 << 20
        configuration.workerSettings.headerTimeout = headerTimeout
        configuration.workerSettings.webSocketPing = webSocketPing
        configuration.workerSettings.webSocketDeflate = webSocketDeflate
        configuration.workerSettings.dataStorePassword = dataStorePassword
        configuration.workerSettings.database = database
        configuration.workerSettings.databasePool = dbPool
        configuration.workerSettings.dataStoreFile = absolutePath(dataStoreFile)
        configuration.workerSettings.dataStoreSaveRules = dataStoreSave
        configuration.workerSettings.accessLog = accessLog.map { $0 == "-" ? "-" : absolutePath($0) }
        configuration.workerSettings.accessLogFormat = accessLogFormat
        configuration.workerSettings.forwardedAllowIPs = forwardedAllowIPs.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }

        return configuration
    }
}

/// `1048576`, `512K`, `10M`, `1G`: a size in bytes.
func parseByteCount(_ text: String) -> Int? {
    let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
    if let last = text.uppercased().last, let unit = units[last] {
        return Int(text.dropLast()).flatMap { count in
            let (bytes, overflow) = count.multipliedReportingOverflow(by: unit)
            return count >= 0 && !overflow ? bytes : nil
        }
    }
    return Int(text).flatMap { $0 >= 0 ? $0 : nil }
}

/// `--greenlet` takes an optional value, which ArgumentParser does not: a bare
/// `--greenlet` becomes `--greenlet 100`, as in pulsar.
func withGreenletDefault(_ arguments: [String]) -> [String] {
    var result: [String] = []
    for (index, argument) in arguments.enumerated() {
        result.append(argument)
        if argument == "--greenlet", index + 1 >= arguments.count || Int(arguments[index + 1]) == nil {
            result.append("100")
        }
    }
    return result
}

extension Serve {
    /// `--autoscale`, when it is given and reads: nil for a bad value too, which `validate` refuses.
    var autoscaleBounds: AutoscaleBounds? {
        autoscale.flatMap(AutoscaleBounds.init(parsing:)).flatMap { $0.max <= Monitor.maximumTarget ? $0 : nil }
    }

    /// The dashboard runs when asked for (the default) and a person can see it:
    /// stdin and stdout are a terminal, and TERM is not dumb.
    var wantsDashboard: Bool {
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        return !noDashboard && isatty(0) == 1 && isatty(1) == 1 && !term.isEmpty && term != "dumb"
    }
}

func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}
