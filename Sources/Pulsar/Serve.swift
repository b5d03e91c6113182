import Arbiter
import ArgumentParser
import Foundation
import Logging

/// `pulse [serve]`: start the arbiter and its workers.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the arbiter: bind, spawn workers, supervise them.",
        discussion: """
            Signals: TERM or INT drain and exit (a second INT, or QUIT, stops at once); \
            HUP reloads the workers one by one; TTIN and TTOU add and remove a worker.
            """)

    @Option(name: [.short, .long], help: ArgumentHelp("Address to listen on: HOST:PORT, :PORT or unix:PATH. Repeatable.", valueName: "address"))
    var bind: [String] = []

    @Option(name: [.short, .long], help: "Worker processes per service.")
    var workers: Int = 2

    @Option(help: "Seconds without a heartbeat before a worker is killed and replaced; 0 disables.")
    var timeout: Double = 30

    @Option(name: .customLong("graceful-timeout"), help: "Seconds a draining worker may finish its requests.")
    var gracefulTimeout: Double = 30

    @Option(name: .customLong("max-requests"), help: "Replace a worker after this many requests; 0 never.")
    var maxRequests: Int = 0

    @Option(name: .customLong("max-requests-jitter"), help: "Add up to this many requests, at random, to --max-requests per worker.")
    var maxRequestsJitter: Int = 0

    @Option(name: .customLong("keep-alive"), help: "Seconds an idle keep-alive connection stays open.")
    var keepAlive: Double = 5

    @Option(help: "Write the arbiter's pid here; refuse to start if it names a live process.")
    var pidfile: String?

    @Option(help: "The control socket for `pulse ctl` (default: $XDG_RUNTIME_DIR/pulse.sock or /tmp/pulse-UID/pulse.sock).")
    var control: String?

    @Option(name: .customLong("log-file"), help: "Also append the merged log to this file.")
    var logFile: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(name: .customLong("no-dashboard"), help: "Run headless, logging to stderr.")
    var noDashboard = false

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1 (got \(workers))") }
        guard timeout >= 0 else { throw ValidationError("--timeout must be 0 (disabled) or more seconds (got \(timeout))") }
        guard gracefulTimeout >= 0 else { throw ValidationError("--graceful-timeout must not be negative (got \(gracefulTimeout))") }
        guard maxRequests >= 0 else { throw ValidationError("--max-requests must not be negative (got \(maxRequests))") }
        guard maxRequestsJitter >= 0 else { throw ValidationError("--max-requests-jitter must not be negative (got \(maxRequestsJitter))") }
        guard keepAlive > 0 else { throw ValidationError("--keep-alive must be more than 0 seconds (got \(keepAlive))") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical (got '\(logLevel)')")
        }
        for text in bind {
            do { _ = try Bind(parsing: text) } catch { throw ValidationError("--bind: \(error)") }
        }
    }

    func run() throws {
        let cliBinds = try bind.isEmpty ? [Bind.default] : bind.map { try Bind(parsing: $0) }
        let services = ServiceRegistry.services.withLockedValue { $0 }
        var configuration = ArbiterConfiguration(services: services.map {
            ArbiterConfiguration.Service(name: $0.name, binds: $0.binds ?? cliBinds, workers: $0.workers ?? workers)
        })
        configuration.timeout = timeout
        configuration.gracefulTimeout = gracefulTimeout
        configuration.maxRequests = maxRequests
        configuration.maxRequestsJitter = maxRequestsJitter
        configuration.pidfile = pidfile.map(absolutePath)
        configuration.controlPath = absolutePath(control ?? defaultControlPath())
        configuration.logFile = logFile.map(absolutePath)
        configuration.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        configuration.workerSettings.keepAlive = keepAlive
        configuration.workerSettings.logLevel = logLevel

        let sink: LogSink
        do {
            sink = try LogSink(toStderr: true, filePath: configuration.logFile, minimumLevel: configuration.logLevel)
        } catch {
            throw ValidationError("\(error)")
        }
        let code = Arbiter.run(configuration, sink: sink)
        if code != 0 { throw ExitCode(code) }
    }
}

func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}
