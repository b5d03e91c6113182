import CPulseSystem
import Dispatch
import Foundation
import Glibc
import Logging
import Mailbox
import NIOCore
import NIOPosix

/// The arbiter: binds the sockets, spawns and supervises the workers of every
/// service, and answers the control socket.
///
/// Everything it owns is confined to one event loop. Signals, mailbox messages,
/// control commands and the 100 ms tick are all handled there, so the worker table
/// has a single owner and the supervision loop reads top to bottom as in gunicorn:
/// reap, murder, manage.
public final class Arbiter: @unchecked Sendable {
    public let configuration: ArbiterConfiguration
    let loop: EventLoop
    let sink: LogSink
    let logger: Logger
    private(set) var monitors: [Monitor]
    private let listeners: [[ListeningSocket]]
    private let spawner: WorkerSpawner
    private var mailboxes: [Int32: Channel] = [:]
    private var cpuSamples: [Int32: (seconds: Double, at: Double)] = [:]
    private var lastResourceSample: Double = 0
    private var shutdown: Shutdown?
    private var forcedKills = 0
    private let startedAt = Arbiter.now()
    private let exitCode: EventLoopPromise<Int32>
    private var signalSources: [DispatchSourceSignal] = []
    private var dashboardPID: Int32?
    private var savedTerminal: termios?

    enum Shutdown { case graceful, immediate }

    static func now() -> Double { Double(NIODeadline.now().uptimeNanoseconds) / 1_000_000_000 }

    private init(configuration: ArbiterConfiguration, loop: EventLoop, sink: LogSink, listeners: [[ListeningSocket]]) {
        self.configuration = configuration
        self.loop = loop
        self.sink = sink
        self.logger = Logger(label: "arbiter") { _ in SinkLogHandler(sink: sink) }
        self.listeners = listeners
        self.monitors = zip(configuration.services, listeners).map { service, sockets in
            var monitor = Monitor(name: service.name, binds: sockets.map(\.bound), target: service.workers,
                                  mode: configuration.workerSettings.mode, policy: configuration.restartPolicy)
            monitor.auxiliary = service.auxiliary
            return monitor
        }
        self.spawner = WorkerSpawner(executable: configuration.executable, arbiterPID: getpid())
        self.exitCode = loop.makePromise(of: Int32.self)
    }

    // MARK: - Running

    /// Runs the arbiter until it has shut down; returns the process exit code.
    /// Start-up problems (a busy port, a live pidfile) are logged and return 1.
    public static func run(_ configuration: ArbiterConfiguration, sink: LogSink) -> Int32 {
        let logger = Logger(label: "arbiter") { _ in SinkLogHandler(sink: sink) }
        let pidfile = configuration.pidfile.map(Pidfile.init(path:))
        do {
            try pidfile?.claim()
        } catch {
            logger.critical("\(error) (--pidfile)")
            return 1
        }
        defer { pidfile?.release() }

        if UnixSocketFile.isLive(configuration.controlPath) {
            logger.critical("control socket \(configuration.controlPath) is in use by another arbiter; pass --control PATH")
            return 1
        }
        let controlDirectory = (configuration.controlPath as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: controlDirectory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])

        var listeners: [[ListeningSocket]] = []
        defer { listeners.joined().forEach { $0.close() } }
        for service in configuration.services {
            var sockets: [ListeningSocket] = []
            for bind in service.binds {
                do {
                    sockets.append(try ListeningSocket.bind(bind))
                } catch {
                    logger.critical("\(error) (--bind)")
                    sockets.forEach { $0.close() }
                    return 1
                }
            }
            listeners.append(sockets)
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let arbiter = Arbiter(configuration: configuration, loop: loop, sink: sink, listeners: listeners)

        let control: Channel
        do {
            control = try ControlServer.start(path: configuration.controlPath, group: loop) { request in
                arbiter.handle(request)
            }.wait()
            chmod(configuration.controlPath, 0o600)
        } catch {
            logger.critical("cannot open control socket \(configuration.controlPath): \(error) (--control)")
            return 1
        }
        defer {
            try? control.close().wait()
            unlink(configuration.controlPath)
        }

        pulse_setproctitle("pulse: arbiter")
        signal(SIGPIPE, SIG_IGN)
        loop.execute { arbiter.start() }
        let code = (try? arbiter.exitCode.futureResult.wait()) ?? 1
        arbiter.signalSources.forEach { $0.cancel() }
        logger.info("arbiter exiting with code \(code)")
        return code
    }

    private func start() {
        logger.info("pulse \(pulsarVersion) arbiter started (pid \(getpid())), control socket \(configuration.controlPath)")
        for monitor in monitors {
            for bind in monitor.binds {
                logger.info("service \(monitor.name) listening at \(bind.url)")
            }
        }
        installSignalHandlers()
        if let arguments = configuration.dashboardArguments { startDashboard(arguments) }
        loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(100)) { [self] _ in tick() }
    }

    /// Signal handlers only enqueue onto the loop; the loop acts.
    private func installSignalHandlers() {
        for signalNumber in [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in loop.execute { self.handleSignal(signalNumber) } }
            source.resume()
            signalSources.append(source)
        }
    }

    func handleSignal(_ signalNumber: Int32) {
        switch signalNumber {
        case SIGTERM:
            beginShutdown(.graceful, why: "SIGTERM")
        case SIGINT:
            beginShutdown(shutdown == nil ? .graceful : .immediate, why: "SIGINT")
        case SIGQUIT:
            beginShutdown(.immediate, why: "SIGQUIT")
        case SIGHUP:
            logger.info("SIGHUP: rolling reload of every service")
            for index in monitors.indices where !monitors[index].auxiliary { monitors[index].reload() }
        case SIGTTIN, SIGTTOU:
            guard let index = monitors.firstIndex(where: { !$0.auxiliary }) else { return }
            let delta = signalNumber == SIGTTIN ? 1 : -1
            let message = scale(serviceIndex: index, to: monitors[index].target + delta)
            logger.info("\(signalName(signalNumber)): \(message)")
        default:
            break
        }
    }

    // MARK: - The supervision loop

    private func tick() {
        let now = Self.now()
        reapWorkers(now: now)
        murderWorkers(now: now)
        manageWorkers(now: now)
        if now - lastResourceSample >= 1 {
            sampleResources(now: now)
            lastResourceSample = now
        }
        if shutdown != nil, monitors.allSatisfy({ $0.workers.isEmpty }) {
            finishShutdown()
        }
    }

    /// Collects every worker that exited, says why, and lets its monitor account for it.
    private func reapWorkers(now: Double) {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            if pid == dashboardPID {
                dashboardExited(Termination(waitStatus: status))
                continue
            }
            mailboxes.removeValue(forKey: pid)?.close(promise: nil)
            cpuSamples.removeValue(forKey: pid)
            guard let index = monitors.firstIndex(where: { $0.worker(pid: pid) != nil }),
                  let worker = monitors[index].worker(pid: pid) else { continue }
            let name = "\(monitors[index].name).\(worker.id)"
            let wasErrored = monitors[index].state == .errored
            guard let exit = monitors[index].workerExited(id: worker.id, termination: Termination(waitStatus: status),
                                                          now: now, timeoutSeconds: configuration.timeout) else { continue }
            let level: Logger.Level = exit.isFailure ? .error : .info
            logger.log(level: level, "worker \(name) (pid \(pid)) \(exit.reason)")
            if exit.isFailure, monitors[index].state == .running {
                let wait = max(0, monitors[index].policy.nextSpawnAt - now)
                if wait > 0 {
                    logger.warning("service \(monitors[index].name): \(monitors[index].policy.consecutiveFailures) failures in a row, next spawn in \(String(format: "%.2f", wait))s")
                }
            }
            if !wasErrored, monitors[index].state == .errored {
                logger.critical("service \(monitors[index].name) is errored: \(monitors[index].policy.consecutiveBootFailures) workers in a row failed to boot; fix the cause and run `pulse ctl restart`")
            }
        }
    }

    /// Kills workers whose heartbeats stopped, and those past a kill deadline.
    private func murderWorkers(now: Double) {
        for index in monitors.indices {
            let name = monitors[index].name
            for id in monitors[index].overdueWorkers(now: now, timeout: configuration.timeout) {
                guard let worker = monitors[index].workers[id] else { continue }
                let silent = String(format: "%.1f", now - worker.lastHeartbeatAt)
                logger.error("worker \(name).\(id) (pid \(worker.pid)) sent no heartbeat for \(silent)s (--timeout \(formatSeconds(configuration.timeout))): sending SIGTERM, SIGKILL in \(formatSeconds(configuration.killGrace))")
                kill(worker.pid, SIGTERM)
                monitors[index].markKilled(id: id, intent: .timeout, killAt: now + configuration.killGrace)
            }
            for id in monitors[index].workersToKill(now: now) {
                guard let worker = monitors[index].workers[id] else { continue }
                if worker.intent?.drains == true { forcedKills += 1 }
                logger.warning("worker \(name).\(id) (pid \(worker.pid)) is still running past its deadline: SIGKILL")
                kill(worker.pid, SIGKILL)
                monitors[index].setKillDeadline(id: id, at: .infinity)
            }
        }
    }

    /// Brings every service toward its target: replacements first, then scaling.
    private func manageWorkers(now: Double) {
        guard shutdown == nil else { return }
        for index in monitors.indices {
            for action in monitors[index].plan(now: now) { perform(action, service: index, now: now) }
        }
    }

    private func perform(_ action: MonitorAction, service index: Int, now: Double) {
        let name = monitors[index].name
        switch action {
        case .spawn(let id, let replacing):
            var settings = configuration.workerSettings
            settings.gracefulTimeout = configuration.gracefulTimeout
            settings.mode = monitors[index].mode
            if let store = configuration.embeddedDataStore, let monitor = monitors.first(where: { $0.name == store.service }),
               case .tcp(let host, let port)? = monitor.binds.first {
                settings.dataStoreURL = "pulsar://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)/\(store.database)"
            }
            if configuration.maxRequests > 0 {
                settings.maxRequests = configuration.maxRequests + Int.random(in: 0...max(0, configuration.maxRequestsJitter))
            }
            do {
                let spawned = try spawner.spawn(service: name, id: id, listeners: listeners[index], settings: settings)
                monitors[index].workerSpawned(id: id, pid: spawned.pid)
                attach(spawned, name: "\(name).\(id)")
                let why = replacing.map { " to replace \(name).\($0)" } ?? ""
                logger.info("booting worker \(name).\(id) (pid \(spawned.pid))\(why)")
            } catch {
                logger.error("cannot spawn worker \(name).\(id): \(error)")
                _ = monitors[index].workerExited(id: id, termination: .exited(code: 127), now: now,
                                                 timeoutSeconds: configuration.timeout)
            }
        case .drain(let id, let intent):
            guard let worker = monitors[index].workers[id] else { return }
            logger.info("draining worker \(name).\(id) (pid \(worker.pid)): \(intent.rawValue)")
            send(.drain(graceSeconds: configuration.gracefulTimeout), to: worker.pid)
            monitors[index].setKillDeadline(id: id, at: now + configuration.gracefulTimeout + configuration.killGrace)
        }
    }

    private func sampleResources(now: Double) {
        for index in monitors.indices {
            for worker in monitors[index].orderedWorkers where worker.pid > 0 {
                guard let stats = ProcessStats.read(pid: worker.pid) else { continue }
                var cpu = 0.0
                if let previous = cpuSamples[worker.pid], now > previous.at {
                    cpu = (stats.cpuSeconds - previous.seconds) / (now - previous.at) * 100
                }
                cpuSamples[worker.pid] = (stats.cpuSeconds, now)
                monitors[index].workerResources(id: worker.id, rssBytes: stats.rssBytes, cpuPercent: max(0, cpu))
            }
        }
    }

    // MARK: - Worker pipes

    /// Connects the arbiter's ends of a new worker's mailbox and output pipes to the loop.
    private func attach(_ spawned: SpawnedWorker, name: String) {
        let pid = spawned.pid
        NIOPipeBootstrap(group: loop)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(MailboxHandler(arbiter: self, pid: pid))
                }
            }
            .takingOwnershipOfDescriptor(inputOutput: spawned.mailboxFD)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel): mailboxes[pid] = channel
                case .failure(let error):
                    // NIO may have closed the fd already: leaking it beats a double close.
                    logger.error("cannot watch the mailbox of \(name): \(error)")
                }
            }
        for (fd, fallback) in [(spawned.stdoutFD, Logger.Level.info), (spawned.stderrFD, Logger.Level.error)] {
            NIOPipeBootstrap(group: loop)
                .channelInitializer { [sink] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: 64 * 1024)))
                        try channel.pipeline.syncOperations.addHandler(OutputRelayHandler(sink: sink, source: name, fallback: fallback))
                    }
                }
                .takingOwnershipOfDescriptor(input: fd)
                .whenFailure { [logger] error in logger.error("cannot read the output of \(name): \(error)") }
        }
    }

    func received(_ message: WorkerMessage, from pid: Int32) {
        let now = Self.now()
        guard let index = monitors.firstIndex(where: { $0.worker(pid: pid) != nil }),
              let worker = monitors[index].worker(pid: pid) else { return }
        let name = "\(monitors[index].name).\(worker.id)"
        switch message {
        case .ready:
            let bootTime = String(format: "%.0f", (now - worker.spawnedAt) * 1000)
            logger.info("worker \(name) (pid \(pid)) ready in \(bootTime) ms")
            // The mode may have changed while it booted.
            send(.mode(monitors[index].mode), to: pid)
            for action in monitors[index].workerReady(id: worker.id, now: now) {
                perform(action, service: index, now: now)
            }
            if shutdown != nil, monitors[index].workers[worker.id]?.intent == nil {
                // Booted while the arbiter was shutting down: drain it too.
                monitors[index].markKilled(id: worker.id, intent: .shutdown, killAt: now + configuration.gracefulTimeout)
                send(.drain(graceSeconds: 0), to: pid)
            }
        case .heartbeat(let report):
            monitors[index].workerHeartbeat(id: worker.id, report: report, now: now)
        case .retire(let requests):
            logger.info("worker \(name) served \(requests) requests (--max-requests): replacing it")
            monitors[index].recycle(id: worker.id)
        }
    }

    private func send(_ message: ArbiterMessage, to pid: Int32) {
        guard let channel = mailboxes[pid], let bytes = try? MailboxFraming.encode(message) else {
            // No mailbox (yet, or any more): the worker treats SIGTERM as a drain request.
            if case .drain = message { kill(pid, SIGTERM) }
            return
        }
        channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
    }

    // MARK: - Shutdown

    func beginShutdown(_ kind: Shutdown, why: String) {
        let now = Self.now()
        switch (shutdown, kind) {
        case (.immediate?, _), (.graceful?, .graceful):
            return
        case (_, .graceful):
            shutdown = .graceful
            let count = monitors.reduce(0) { $0 + $1.workers.count }
            logger.info("\(why): shutting down gracefully, draining \(count) workers (Ctrl-C again or SIGQUIT to stop at once)")
            for index in monitors.indices {
                for action in monitors[index].beginShutdown() { perform(action, service: index, now: now) }
            }
        case (_, .immediate):
            shutdown = .immediate
            logger.warning("\(why): stopping at once")
            for index in monitors.indices {
                _ = monitors[index].beginShutdown()
                for worker in monitors[index].orderedWorkers where worker.pid > 0 {
                    kill(worker.pid, SIGQUIT)
                    monitors[index].setKillDeadline(id: worker.id, at: now + configuration.killGrace)
                }
            }
        }
    }

    private func finishShutdown() {
        stopDashboard()
        let code: Int32 = forcedKills == 0 ? 0 : 1
        if forcedKills > 0 { logger.warning("\(forcedKills) workers had to be killed during shutdown") }
        shutdown = nil
        for channel in mailboxes.values { channel.close(promise: nil) }
        mailboxes.removeAll()
        exitCode.succeed(code)
    }

    // MARK: - The dashboard

    /// Runs the dashboard as a child on the arbiter's terminal. A separate process:
    /// whatever happens to the dashboard, the arbiter and its workers carry on.
    private func startDashboard(_ arguments: [String]) {
        var saved = termios()
        if tcgetattr(0, &saved) == 0 { savedTerminal = saved }
        do {
            dashboardPID = try spawner.spawnOnTerminal(arguments: arguments)
            sink.setStderr(false)
            logger.info("dashboard running (pid \(dashboardPID!))")
        } catch {
            logger.error("cannot start the dashboard: \(error); running headless")
        }
    }

    private func dashboardExited(_ termination: Termination) {
        dashboardPID = nil
        if termination != .exited(code: 0) {
            restoreTerminal()
            sink.setStderr(true)
            logger.error("the dashboard \(termination.description); the server carries on headless")
        } else {
            sink.setStderr(true)
            logger.info("dashboard closed")
        }
    }

    /// Asks the dashboard to leave and waits briefly, so the terminal is ours again
    /// before the last lines are printed.
    private func stopDashboard() {
        guard let pid = dashboardPID else { return }
        kill(pid, SIGTERM)
        for _ in 0..<40 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                dashboardExited(Termination(waitStatus: status))
                return
            }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        dashboardExited(Termination(waitStatus: status))
    }

    /// Puts the terminal back as it was before a crashed dashboard took it: modes,
    /// the main screen, the cursor.
    private func restoreTerminal() {
        if var saved = savedTerminal { tcsetattr(0, TCSANOW, &saved) }
        let reset = Array("\u{1b}[0m\u{1b}[?1049l\u{1b}[?25h\r\n".utf8)
        reset.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) }
    }

    // MARK: - Commands (the control socket and the dashboard's keys)

    func handle(_ request: ControlRequest) -> ControlResponse {
        loop.preconditionInEventLoop()
        switch request.command {
        case "status":
            return ControlResponse(ok: true, status: snapshot())
        case "scale", "workers":
            guard let argument = request.argument, let number = Int(argument.hasPrefix("+") ? String(argument.dropFirst()) : argument) else {
                return ControlResponse(ok: false, message: "\(request.command) needs a number, as in `scale +1`, `scale -1` or `workers 4`")
            }
            return withService(request.service) { index in
                guard !monitors[index].auxiliary else {
                    return ControlResponse(ok: false, message: "\(monitors[index].name) runs as one process and is not scaled")
                }
                let relative = request.command == "scale" && (argument.hasPrefix("+") || argument.hasPrefix("-"))
                if request.command == "workers", number < 1 {
                    return ControlResponse(ok: false, message: "workers must be at least 1")
                }
                let message = scale(serviceIndex: index, to: relative ? monitors[index].target + number : number)
                logger.info("pulse ctl \(request.command) \(argument): \(message)")
                return ControlResponse(ok: true, message: message, status: snapshot())
            }
        case "reload", "restart":
            let indices = request.service == nil ? monitors.indices.filter { !monitors[$0].auxiliary }
                : monitors.indices.filter { monitors[$0].name == request.service }
            guard !indices.isEmpty else { return unknownService(request.service) }
            for index in indices {
                if request.command == "reload" { monitors[index].reload() } else { monitors[index].restart() }
                logger.info("pulse ctl \(request.command): replacing the workers of \(monitors[index].name) one at a time")
            }
            return ControlResponse(ok: true, message: "\(request.command) started for \(indices.map { monitors[$0].name }.joined(separator: ", "))", status: snapshot())
        case "kill":
            return killWorker(named: request.argument ?? "")
        case "mode":
            guard let mode = request.argument.flatMap(ExecutionMode.init(rawValue:)) else {
                return ControlResponse(ok: false, message: "mode needs thread or cooperative")
            }
            let indices = request.service == nil ? monitors.indices.filter { !monitors[$0].auxiliary }
                : monitors.indices.filter { monitors[$0].name == request.service }
            guard !indices.isEmpty else { return unknownService(request.service) }
            for index in indices { setMode(mode, serviceIndex: index) }
            return ControlResponse(ok: true, message: "\(indices.map { monitors[$0].name }.joined(separator: ", ")): \(mode.rawValue) mode", status: snapshot())
        case "logs":
            return ControlResponse(ok: true, logs: sink.entries(after: Int(request.argument ?? "") ?? 0))
        case "stop":
            if request.argument == "now" {
                beginShutdown(.immediate, why: "pulse ctl stop now")
                return ControlResponse(ok: true, message: "stopping at once")
            }
            beginShutdown(.graceful, why: "pulse ctl stop")
            return ControlResponse(ok: true, message: "shutting down gracefully")
        default:
            return ControlResponse(ok: false, message: "unknown command '\(request.command)': use status, scale, workers, mode, reload, restart, kill or stop")
        }
    }

    private func withService(_ name: String?, _ body: (Int) -> ControlResponse) -> ControlResponse {
        if let name {
            guard let index = monitors.firstIndex(where: { $0.name == name }) else { return unknownService(name) }
            return body(index)
        }
        let candidates = monitors.indices.filter { !monitors[$0].auxiliary }
        guard candidates.count == 1 else {
            return ControlResponse(ok: false, message: "several services run here; name one: \(candidates.map { monitors[$0].name }.joined(separator: ", "))")
        }
        return body(candidates[0])
    }

    private func unknownService(_ name: String?) -> ControlResponse {
        ControlResponse(ok: false, message: "no service named '\(name ?? "")'; services: \(monitors.map(\.name).joined(separator: ", "))")
    }

    private func scale(serviceIndex index: Int, to count: Int) -> String {
        let before = monitors[index].target
        monitors[index].setTarget(count)
        let after = monitors[index].target
        let floor = count < 1 ? " (never below 1)" : ""
        return "service \(monitors[index].name): \(after) workers (was \(before))\(floor)"
    }

    /// Switches a service's execution mode: running workers at once (for new
    /// requests), and every worker spawned later.
    private func setMode(_ mode: ExecutionMode, serviceIndex index: Int) {
        let before = monitors[index].mode
        monitors[index].mode = mode
        logger.info("service \(monitors[index].name): execution mode \(before.rawValue) -> \(mode.rawValue)")
        for worker in monitors[index].orderedWorkers where worker.pid > 0 && worker.intent == nil {
            send(.mode(mode), to: worker.pid)
        }
    }

    private func killWorker(named name: String) -> ControlResponse {
        for index in monitors.indices {
            for worker in monitors[index].orderedWorkers where "\(monitors[index].name).\(worker.id)" == name || "\(worker.pid)" == name {
                guard worker.pid > 0 else { break }
                logger.warning("pulse ctl kill: SIGKILL to worker \(monitors[index].name).\(worker.id) (pid \(worker.pid))")
                kill(worker.pid, SIGKILL)
                monitors[index].markKilled(id: worker.id, intent: .operatorKill, killAt: nil)
                return ControlResponse(ok: true, message: "killed \(monitors[index].name).\(worker.id) (pid \(worker.pid))")
            }
        }
        return ControlResponse(ok: false, message: "no worker named '\(name)': use a name from `pulse ctl status`, such as web.1")
    }

    // MARK: - Status

    func snapshot() -> StatusSnapshot {
        let now = Self.now()
        let arbiter = ArbiterStatus(pid: getpid(), version: pulsarVersion,
                                    state: shutdown == nil ? "running" : "stopping", uptimeS: now - startedAt,
                                    control: configuration.controlPath, pidfile: configuration.pidfile,
                                    logFile: configuration.logFile)
        let services = monitors.map { monitor in
            ServiceStatus(
                name: monitor.name,
                binds: monitor.binds.map(\.description),
                urls: monitor.binds.map(\.url),
                targetWorkers: monitor.target,
                mode: monitor.mode,
                auxiliary: monitor.auxiliary,
                liveWorkers: monitor.workers.values.filter { $0.intent == nil }.count,
                state: monitor.state,
                consecutiveFailures: monitor.policy.consecutiveFailures,
                nextSpawnInS: monitor.policy.nextSpawnAt > now ? monitor.policy.nextSpawnAt - now : nil,
                workers: monitor.orderedWorkers.map { worker in
                    WorkerStatus(
                        id: worker.id, name: "\(monitor.name).\(worker.id)", pid: worker.pid, state: worker.state,
                        intent: worker.intent, uptimeS: now - worker.spawnedAt, requests: worker.report.requests,
                        statusClasses: worker.report.statusClasses, rps: worker.rps, inflight: worker.report.inflight,
                        connections: worker.report.connections, bytesIn: worker.report.bytesIn,
                        bytesOut: worker.report.bytesOut,
                        lastHeartbeatMs: Int((now - worker.lastHeartbeatAt) * 1000),
                        restarts: monitor.restartsBySlot[worker.id] ?? 0, rssBytes: worker.rssBytes,
                        cpuPercent: worker.cpuPercent, loopLagMs: worker.report.loopLagMs, mode: worker.report.mode,
                        threads: worker.report.threads, green: worker.report.green, queue: worker.report.queue,
                        websockets: worker.report.websockets, latencyMs: worker.report.latencyMs,
                        dataStore: worker.report.dataStore, database: worker.report.database)
                },
                recentExits: monitor.recentExits.map {
                    RecentExitStatus(worker: $0.worker, pid: $0.pid, reason: $0.reason, ageS: now - $0.at, failure: $0.isFailure)
                })
        }
        return StatusSnapshot(arbiter: arbiter, services: services)
    }
}

/// Decodes a worker's mailbox lines and hands them to the arbiter.
final class MailboxHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let arbiter: Arbiter
    let pid: Int32

    init(arbiter: Arbiter, pid: Int32) {
        self.arbiter = arbiter
        self.pid = pid
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Self.unwrapInboundIn(data)
        guard let message = try? MailboxFraming.decode(WorkerMessage.self, from: line.readableBytesView) else {
            arbiter.logger.warning("unreadable mailbox message from pid \(pid)")
            return
        }
        arbiter.received(message, from: pid)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Relays a worker's stdout or stderr into the merged log, line by line.
final class OutputRelayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let sink: LogSink
    let source: String
    let fallback: Logger.Level

    init(sink: LogSink, source: String, fallback: Logger.Level) {
        self.sink = sink
        self.source = source
        self.fallback = fallback
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let text = String(buffer: Self.unwrapInboundIn(data))
        sink.write(LogLine.parse(workerOutput: text, source: source, fallback: fallback))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
