import CPulseSystem
import Dispatch
import Foundation
import Glibc
import Logging
import Mailbox
import NIOCore
import NIOPosix
import PulseControl

/// The arbiter: binds the sockets, spawns and supervises the workers of every
/// service, and answers the control socket.
///
/// Everything it owns is confined to one event loop (it is not `Sendable`; what
/// crosses threads holds it in a `NIOLoopBound`). Signals, mailbox messages, control
/// commands and the 100 ms tick are all handled there, so the worker table has a
/// single owner and the supervision loop reads top to bottom as in gunicorn: reap,
/// murder, manage. The other jobs live beside this file: signals
/// (`Arbiter+Signals`), control commands (`Arbiter+Commands`), the status
/// (`Arbiter+Status`), worker pipes (`WorkerPipes`), the dashboard (`DashboardChild`).
public final class Arbiter {
    /// As started, with what a SIGHUP re-read changed since.
    public internal(set) var configuration: ArbiterConfiguration
    let loop: EventLoop
    let sink: LogSink
    let logger: Logger
    var monitors: [Monitor]
    let listeners: [[ListeningSocket]]
    let spawner: WorkerSpawner
    var table = WorkerTable()
    var lifecycle = ArbiterLifecycle()
    let dashboard: DashboardChild
    let startedAt = Arbiter.now()
    private var lastResourceSample: Double = 0
    /// When the last tick ran: a tick far later than its 100 ms means the arbiter
    /// was not scheduled (a suspended machine or container, a stalled host).
    private var lastTick: Double?
    private let exitCode: EventLoopPromise<Int32>
    var signalSources: [DispatchSourceSignal] = []
    /// `Type=notify` under systemd: readiness, reloads, stopping, status, watchdog.
    let systemd = SystemdNotifier()
    var systemdState = SystemdState.starting
    enum SystemdState { case starting, ready, reloading, stopping }
    /// Standard output was a terminal at start (a SIGHUP may be its hang-up).
    let startedOnTerminal = isatty(1) == 1
    /// Standard streams point at /dev/null since a detached terminal hung up.
    var outputDetached = false

    static func now() -> Double { Double(NIODeadline.now().uptimeNanoseconds) / 1_000_000_000 }

    private init(configuration: ArbiterConfiguration, loop: EventLoop, sink: LogSink, listeners: [[ListeningSocket]],
                 exitCode: EventLoopPromise<Int32>) {
        self.configuration = configuration
        self.loop = loop
        self.sink = sink
        let logger = Logger(label: "arbiter") { _ in SinkLogHandler(sink: sink) }
        self.logger = logger
        self.listeners = listeners
        self.monitors = zip(configuration.services, listeners).map { service, sockets in
            var monitor = Monitor(name: service.name, binds: sockets.map(\.bound), target: service.workers,
                                  mode: configuration.workerSettings.mode, policy: configuration.restartPolicy)
            monitor.auxiliary = service.auxiliary
            if !service.auxiliary { monitor.setAutoscale(service.autoscale) }
            return monitor
        }
        self.spawner = WorkerSpawner(executable: configuration.executable, arbiterPID: getpid())
        self.dashboard = DashboardChild(sink: sink, logger: logger)
        self.exitCode = exitCode
    }

    // MARK: - Running

    /// Runs the arbiter until it has shut down; returns the process exit code.
    /// Start-up problems (a busy port, a live pidfile) are logged and return 1.
    public static func run(_ configuration: ArbiterConfiguration, sink: LogSink) -> Int32 {
        var configuration = configuration
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

        let passed = SocketActivation.assign(SocketActivation.passedSockets(), to: configuration.services)
        guard let listeners = bindAll(configuration, passed: passed, logger: logger) else { return 1 }
        defer { listeners.joined().forEach { $0.close() } }
        var metricsSocket: ListeningSocket?
        if let bind = configuration.metricsBind {
            do {
                metricsSocket = try ListeningSocket.bind(bind, backlog: 128)
                configuration.metricsBind = metricsSocket?.bound
            } catch {
                logger.critical("\(error) (--metrics)")
                return 1
            }
        }
        let fixedConfiguration = configuration

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let exitCode = loop.makePromise(of: Int32.self)
        // Made on its loop, and only ever touched there.
        guard let arbiter = try? loop.submit({
            NIOLoopBound(Arbiter(configuration: fixedConfiguration, loop: loop, sink: sink, listeners: listeners,
                                 exitCode: exitCode), eventLoop: loop)
        }).wait() else { return 1 }

        let control: Channel
        do {
            control = try ControlServer.start(path: configuration.controlPath, group: loop) { command, origin in
                arbiter.value.handle(command, origin: origin)
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

        var metrics: Channel?
        if let metricsSocket {
            do {
                metrics = try MetricsServer.start(socket: metricsSocket, group: loop) { method, path in
                    arbiter.value.answerMetrics(method: method, path: path)
                }.wait()
            } catch {
                metricsSocket.close()
                logger.critical("cannot serve metrics at \(metricsSocket.bound): \(error) (--metrics)")
                return 1
            }
        }
        defer { try? metrics?.close().wait() }

        pulse_setproctitle("pulse: arbiter")
        signal(SIGPIPE, SIG_IGN)
        loop.execute { arbiter.value.start() }
        let code = (try? exitCode.futureResult.wait()) ?? 1
        logger.info("arbiter exiting with code \(code)")
        return code
    }

    private func start() {
        logger.info("pulse \(pulsarVersion) arbiter started (pid \(getpid())), control socket \(configuration.controlPath)")
        if let bind = configuration.metricsBind {
            logger.info("metrics at \(bind.url)/metrics, health at /healthz and /readyz")
        }
        for (monitor, service) in zip(monitors, configuration.services) {
            for bind in monitor.binds {
                logger.info("service \(monitor.name) listening at \(bind.url(scheme: service.scheme))")
            }
        }
        installSignalHandlers()
        if let arguments = configuration.dashboardArguments { dashboard.start(arguments, spawner: spawner) }
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(100)) { _ in bound.value.tick() }
    }

    // MARK: - The supervision loop

    private func tick() {
        let now = Self.now()
        noticeStall(now: now)
        reapWorkers(now: now)
        murderWorkers(now: now)
        manageWorkers(now: now)
        if now - lastResourceSample >= 1 {
            sampleResources(now: now)
            autoscale(now: now)
            lastResourceSample = now
            if systemd.isActive { systemd.status(statusLine()) }
        }
        notifySystemd(now: now)
        let workersLeft = monitors.reduce(0) { $0 + $1.workers.count }
        switch lifecycle.tick(now: now, workersLeft: workersLeft, dashboardRunning: dashboard.isRunning) {
        case .none: break
        case .stopDashboard: dashboard.stop()
        case .killDashboard: dashboard.kill()
        case .exit(let code): finish(code: code)
        }
    }

    /// Collects every child that exited, says why, and lets its monitor account for it.
    private func reapWorkers(now: Double) {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            let termination = Termination(waitStatus: status)
            if dashboard.reaped(pid: pid, termination) { continue }
            guard let entry = table.remove(pid: pid) else { continue }
            // Its scoreboard outlives it: what it was serving when it died.
            let inflight = entry.scoreboard?.inflight() ?? []
            workerExited(service: entry.service, id: entry.id, pid: pid, termination, inflight: inflight, now: now)
        }
    }

    private func workerExited(service index: Int, id: Int, pid: Int32, _ termination: Termination,
                              inflight: [InflightRequest], now: Double) {
        let name = "\(monitors[index].name).\(id)"
        let wasErrored = monitors[index].state == .errored
        guard let exit = monitors[index].workerExited(id: id, termination: termination, now: now,
                                                      timeoutSeconds: configuration.timeout, inflight: inflight) else { return }
        logger.log(level: exit.isFailure ? .error : .info, "worker \(name) (pid \(pid)) \(exit.reason)")
        if !inflight.isEmpty {
            let shown = inflight.prefix(10).map(\.description).joined(separator: ", ")
            let more = inflight.count > 10 ? " and \(inflight.count - 10) more" : ""
            logger.log(level: exit.isFailure ? .error : .warning,
                       "worker \(name) (pid \(pid)) had \(inflight.count) request(s) in flight: \(shown)\(more)")
        }
        let monitor = monitors[index]
        if exit.isFailure, monitor.state == .running, monitor.policy.nextSpawnAt > now {
            let wait = String(format: "%.2f", monitor.policy.nextSpawnAt - now)
            logger.warning("service \(monitor.name): \(monitor.policy.consecutiveFailures) failures in a row, next spawn in \(wait)s")
        }
        if !wasErrored, monitor.state == .errored {
            logger.critical("service \(monitor.name) is errored: \(monitor.policy.consecutiveBootFailures) workers in a row failed to boot; fix the cause and run `pulse ctl restart`")
        }
    }

    /// Kills workers whose heartbeats stopped, and those past a kill deadline.
    /// After a stall of the arbiter, every worker looks silent: that is the
    /// arbiter's doing, not the workers' (they were stopped too, or their heartbeats
    /// wait in the mailboxes). The clocks move on by the gap instead of `--timeout`
    /// killing every worker at once, as it did after a 6-minute freeze of the machine.
    private func noticeStall(now: Double) {
        defer { lastTick = now }
        guard let last = lastTick, now - last > Self.stallThreshold else { return }
        let gap = now - last
        logger.warning("the arbiter was not scheduled for \(String(format: "%.1f", gap))s (the machine suspended or stalled): workers' silence in that time is not held against them")
        for index in monitors.indices { monitors[index].arbiterStalled(for: gap) }
    }

    static let stallThreshold = 5.0

    private func murderWorkers(now: Double) {
        for index in monitors.indices {
            let name = monitors[index].name
            for id in monitors[index].overdueWorkers(now: now, timeout: configuration.timeout) {
                guard let worker = monitors[index].workers[id], let pid = worker.pid else { continue }
                let silent = String(format: "%.1f", now - worker.lastHeartbeatAt)
                logger.error("worker \(name).\(id) (pid \(pid)) sent no heartbeat for \(silent)s (--timeout \(formatSeconds(configuration.timeout))): sending SIGTERM, SIGKILL in \(formatSeconds(configuration.killGrace))")
                Glibc.kill(pid, SIGTERM)
                monitors[index].markKilled(id: id, intent: .timeout, killAt: now + configuration.killGrace)
            }
            for id in monitors[index].workersToKill(now: now) {
                guard let worker = monitors[index].workers[id] else { continue }
                if worker.intent?.drains == true { lifecycle.drainingWorkerKilled() }
                if let pid = worker.pid {
                    logger.warning("worker \(name).\(id) (pid \(pid)) is still running past its deadline: SIGKILL")
                    Glibc.kill(pid, SIGKILL)
                }
                monitors[index].setKillDeadline(id: id, at: .infinity)
            }
        }
    }

    /// Brings every service toward its target: replacements first, then scaling.
    private func manageWorkers(now: Double) {
        guard lifecycle.isRunning else { return }
        for index in monitors.indices {
            for action in monitors[index].plan(now: now) { perform(action, service: index, now: now) }
        }
    }

    func perform(_ action: MonitorAction, service index: Int, now: Double) {
        switch action {
        case .spawn(let id, let replacing):
            spawnWorker(id: id, replacing: replacing, service: index, now: now)
        case .drain(let id, let intent):
            guard let pid = monitors[index].workers[id]?.pid else { return }
            logger.info("draining worker \(monitors[index].name).\(id) (pid \(pid)): \(intent.rawValue)")
            send(.drain(graceSeconds: configuration.gracefulTimeout), to: pid)
            monitors[index].setKillDeadline(id: id, at: now + configuration.gracefulTimeout + configuration.killGrace)
        }
    }

    private func spawnWorker(id: Int, replacing: Int?, service index: Int, now: Double) {
        let name = monitors[index].name
        do {
            let spawned = try spawner.spawn(service: name, id: id, listeners: listeners[index],
                                            settings: settings(forService: index))
            monitors[index].workerSpawned(id: id, pid: spawned.pid)
            table.add(pid: spawned.pid, service: index, id: id, scoreboard: spawned.scoreboard)
            attachPipes(of: spawned, name: "\(name).\(id)")
            let why = replacing.map { " to replace \(name).\($0)" } ?? ""
            logger.info("booting worker \(name).\(id) (pid \(spawned.pid))\(why)")
        } catch {
            logger.error("cannot spawn worker \(name).\(id): \(error)")
            _ = monitors[index].workerExited(id: id, termination: .exited(code: 127), now: now,
                                             timeoutSeconds: configuration.timeout)
        }
    }

    /// What a new worker of a service runs with: the command line's settings, the
    /// service's current mode, the data store's real address, its request budget.
    private func settings(forService index: Int) -> WorkerSettings {
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
        return settings
    }

    private func sampleResources(now: Double) {
        for index in monitors.indices {
            for worker in monitors[index].orderedWorkers {
                guard let pid = worker.pid, let stats = ProcessStats.read(pid: pid) else { continue }
                let cpu = table.cpuPercent(pid: pid, cpuSeconds: stats.cpuSeconds, now: now)
                let limit = configuration.maxWorkerMemory
                if monitors[index].workerResources(id: worker.id, rssBytes: stats.rssBytes, cpuPercent: cpu, memoryLimit: limit) {
                    logger.warning("worker \(monitors[index].name).\(worker.id) (pid \(pid)) uses \(stats.rssBytes >> 20) MiB, over --max-worker-memory \(limit >> 20) MiB for \(worker.memorySamplesAllowed) s: replacing it, the new one ready first")
                }
            }
        }
    }

    // MARK: - Shutdown

    func beginShutdown(_ kind: ArbiterLifecycle.ShutdownKind, why: String) {
        let now = Self.now()
        switch lifecycle.shutdownRequested(kind) {
        case .none:
            return
        case .drainWorkers:
            systemdState = .stopping
            systemd.stopping()
            let count = monitors.reduce(0) { $0 + $1.workers.count }
            logger.info("\(why): shutting down gracefully, draining \(count) workers (Ctrl-C again or SIGQUIT to stop at once)")
            for index in monitors.indices {
                for action in monitors[index].beginShutdown() { perform(action, service: index, now: now) }
            }
        case .stopWorkersNow:
            if systemdState != .stopping { systemd.stopping() }
            systemdState = .stopping
            logger.warning("\(why): stopping at once")
            for index in monitors.indices {
                _ = monitors[index].beginShutdown()
                for worker in monitors[index].orderedWorkers {
                    if let pid = worker.pid { Glibc.kill(pid, SIGQUIT) }
                    monitors[index].setKillDeadline(id: worker.id, at: now + configuration.killGrace)
                }
            }
        }
    }

    private func finish(code: Int32) {
        if code != 0 { logger.warning("\(lifecycle.forcedKills) workers had to be killed during shutdown") }
        table.closeAll()
        signalSources.forEach { $0.cancel() }
        exitCode.succeed(code)
    }
}
