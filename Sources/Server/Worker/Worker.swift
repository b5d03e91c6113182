import CPulseSystem
import Dispatch
import Foundation
import Glibc
import Logging
import Mailbox
import NIOCore
import NIOPosix
import PulsarRuntime

/// A worker process: serves its service's app on the sockets it inherited, reports
/// to the arbiter every second, and drains when asked.
///
/// Confined to the worker's single event loop (what crosses threads holds it in a
/// `NIOLoopBound`). Its life is `WorkerPhase`; its books are `ConnectionRegistry`
/// and `WorkerMetrics`; connections reach it only as a `ConnectionObserver`.
public final class Worker {
    let launch: WorkerLaunch
    let serving: Serving
    let loop: EventLoop
    let logger: Logger
    let context: WorkerContext
    // The books every request touches are `@exclusivity(unchecked)`: confined to the
    // loop's one thread, so no access can overlap another the compiler cannot see,
    // and the run-time checks were about 400 instructions of each request.
    @exclusivity(unchecked) private var phase = WorkerPhase()
    @exclusivity(unchecked) private var registry = ConnectionRegistry()
    @exclusivity(unchecked) private var metrics = WorkerMetrics()
    private var mailbox = WorkerMailbox()
    private var acceptor: Acceptor?
    private var arbiterIsGone = false
    @exclusivity(unchecked) private var retireSent = false
    /// Handlers of a hosted server now running (their requests may have lost their client).
    @exclusivity(unchecked) private var hostedHandlers = 0
    private var signalSources: [DispatchSourceSignal] = []
    /// The shared page where requests in flight are written for the arbiter.
    private let scoreboard: UnsafeMutableRawPointer?
    private let accessLog: AccessLog?
    /// Created on first use: a worker serving another protocol needs no pools.
    private(set) lazy var scheduler = RequestScheduler(settings: launch.settings, loop: loop, name: launch.name)

    private init(launch: WorkerLaunch, serving: Serving, loop: EventLoop, logger: Logger) {
        self.launch = launch
        self.serving = serving
        self.loop = loop
        self.logger = logger
        self.context = WorkerContext(name: launch.name, settings: launch.settings, eventLoop: loop)
        self.scoreboard = launch.scoreboardFD.flatMap { pulse_scoreboard_map($0) }
        self.accessLog = AccessLog(destination: launch.settings.accessLog, format: launch.settings.accessLogFormat)
    }

    /// Runs the worker described by `launch` until it has drained; never returns.
    public static func run(launch: WorkerLaunch, app: App) -> Never {
        run(launch: launch, serving: app.hosted.map { .hosted($0) } ?? .http(app))
    }

    /// Runs a worker that serves its connections with `serving`; never returns.
    public static func run(launch: WorkerLaunch, serving: Serving) -> Never {
        pulse_setproctitle("pulse: worker \(launch.name)")
        let level = Logger.Level(rawValue: launch.settings.logLevel) ?? .info
        LoggingSystem.bootstrap { _ in WorkerLogHandler(logLevel: level) }
        var logger = Logger(label: launch.name)
        logger.logLevel = level
        signal(SIGPIPE, SIG_IGN)
        // stdout is a pipe to the arbiter: line-buffer it so an app's print() shows up now.
        pulse_line_buffer_stdout()

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        loop.execute { [logger] in
            Worker(launch: launch, serving: serving, loop: loop, logger: logger).start()
        }
        while true { pause() }
    }

    private func start() {
        let bound = NIOLoopBound(self, eventLoop: loop)
        installSignalHandlers(bound)
        WorkerMailbox.open(fd: launch.mailboxFD, loop: loop, logger: logger,
                           received: { bound.value.received($0) }, closed: { bound.value.arbiterGone() })
            .assumeIsolated().whenComplete { result in
                switch result {
                case .success(let channel): bound.value.mailbox.channel = channel
                case .failure(let error):
                    bound.value.logger.critical("cannot open the mailbox to the arbiter: \(error)")
                    Self.exitNow(70)
                }
            }
        let interval = TimeAmount.fromSeconds(launch.settings.heartbeatInterval)
        loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in bound.value.heartbeat(interval: interval) }

        let promise = loop.makePromise(of: Void.self)
        switch serving {
        case .http(let app):
            let (boot, context) = (app.boot, self.context)
            promise.completeWithTask { try await boot(context) }
        case .connections(let custom):
            let loop = self.loop
            promise.completeWithTask { try await custom.boot(on: loop) }
        case .hosted(let hosted):
            let host = hostingWorker()
            promise.completeWithTask { try await hosted.boot(host) }
        }
        promise.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .success: bound.value.booted()
            case .failure(let error):
                bound.value.logger.critical("boot failed: \(error)")
                Self.exitNow(3)
            }
        }
    }

    private func installSignalHandlers(_ bound: NIOLoopBound<Worker>) {
        let (loop, grace) = (self.loop, launch.settings.gracefulTimeout)
        for signalNumber in [SIGTERM, SIGINT, SIGQUIT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                if signalNumber == SIGQUIT { Self.exitNow(0) }
                loop.execute { bound.value.drain(grace: grace, why: "signal \(signalNumber)") }
            }
            source.resume()
            signalSources.append(source)
        }
    }

    private func booted() {
        guard phase.booted() else {
            exitIfDrained()   // asked to go while booting
            return
        }
        let bound = NIOLoopBound(self, eventLoop: loop)
        let (loop, logger, adopt) = (self.loop, self.logger, connectionAdopter())
        let acceptor = Acceptor(
            listenFDs: launch.listenFDs, arbiterPID: launch.arbiterPID,
            onConnection: { fd in
                // On failure NIO may or may not have closed the fd already; a leak
                // on this path is safer than a double close in a threaded process.
                adopt(fd).whenFailure { error in logger.error("cannot adopt a connection: \(error)") }
            },
            onArbiterGone: { loop.execute { bound.value.arbiterGone() } },
            // Queued behind the registration of every connection it accepted.
            onStopped: { loop.execute { bound.value.acceptorStopped() } })
        self.acceptor = acceptor
        acceptor.start()
        logger.debug("accepting on \(launch.binds.map(\.description).joined(separator: ", "))")
        mailbox.send(.ready(pid: getpid()))
    }

    /// How an accepted socket becomes a channel: called on the accept thread, so the
    /// registration is queued on the loop before the thread can report it stopped.
    private func connectionAdopter() -> @Sendable (Int32) -> EventLoopFuture<Channel> {
        let loop = self.loop
        let observer = NIOLoopBound(self as any ConnectionObserver, eventLoop: loop)
        switch serving {
        case .connections(let custom):
            return { fd in
                ClientBootstrap(group: loop).channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ConnectionBookkeeper(observer: observer.value))
                        try custom.configure(channel)
                    }
                }.withConnectedSocket(fd)
            }
        case .hosted(let hosted):
            let host = hostingWorker()
            let executor = scheduler.loopExecutor
            let silence = TimeAmount.fromSeconds(launch.settings.keepAlive)
            return { fd in
                ClientBootstrap(group: loop)
                    .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                HostedConnectionTracker(observer: observer.value, silenceTimeout: silence))
                        }.flatMap {
                            hosted.connection(channel, host: host)
                        }.map { serve in
                            Task(executorPreference: executor) { await serve() }
                            return ()
                        }
                    }.withConnectedSocket(fd)
            }
        case .http(let app):
            let pipeline = HTTPPipeline(
                configuration: HTTPServerConfiguration(settings: launch.settings, router: app.router, logger: logger, context: context),
                observer: observer, runner: NIOLoopBound(scheduler as any RequestRunner, eventLoop: loop),
                executor: scheduler.loopExecutor)
            return { fd in
                ClientBootstrap(group: loop).channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try pipeline.configure(channel) }
                }.withConnectedSocket(fd)
            }
        }
    }

    private func hostingWorker() -> HostingWorker {
        HostingWorker(context: context, eventLoop: loop, logger: logger,
                      observer: NIOLoopBound(self as any ConnectionObserver, eventLoop: loop),
                      runner: NIOLoopBound(scheduler as any RequestRunner, eventLoop: loop))
    }

    // MARK: - Mailbox

    private func heartbeat(interval: TimeAmount) {
        var report = metrics.beat(interval: interval, connections: registry.count)
        switch serving {
        case .http, .hosted:
            report.mode = scheduler.mode.rawValue
            report.threads = PoolOccupancy(busy: scheduler.busyThreads, size: scheduler.threadCount)
            report.green = PoolOccupancy(busy: scheduler.busyGreen, size: scheduler.greenCount)
            report.queue = scheduler.queued
            report.websockets = registry.webSocketCount
            report.latencyMs = metrics.takeLatencies()
        case .connections(let custom):
            custom.fill(&report)
        }
        context.fill(&report)
        mailbox.send(.heartbeat(report))
    }

    private func received(_ message: ArbiterMessage) {
        switch message {
        case .drain(let grace): drain(grace: grace, why: "asked by the arbiter")
        case .mode(let mode):
            guard serving.schedulesRequests, mode != scheduler.mode else { return }
            logger.info("execution mode: \(scheduler.mode.rawValue) -> \(mode.rawValue)")
            scheduler.setMode(mode)
        case .reopenLogs:
            accessLog?.reopen()
        }
    }

    private func arbiterGone() {
        guard !arbiterIsGone else { return }
        arbiterIsGone = true
        mailbox.channel = nil
        logger.warning("the arbiter (pid \(launch.arbiterPID)) is gone: exiting")
        drain(grace: min(1, launch.settings.gracefulTimeout), why: "arbiter gone")
    }

    // MARK: - Draining

    /// Stops accepting, closes idle connections, lets requests in flight finish
    /// within `grace` seconds, then exits 0.
    private func drain(grace: Double, why: String) {
        guard phase.drainRequested() else { return }
        acceptor?.stop()
        logger.info("draining (\(why)): \(metrics.inflight) requests in flight, \(registry.count) connections")
        switch serving {
        case .http, .hosted:
            // A keep-alive client's next request may be on the wire already: each
            // connection answers it with `Connection: close`, and only one idle for a
            // moment is closed (the keep-alive timer decides), so clients reconnect
            // rather than see a reset.
            for channel in registry.channels { channel.pipeline.fireUserInboundEventTriggered(WorkerEvent.draining) }
        case .connections:
            for channel in registry.idleAfterServing { channel.close(promise: nil) }
        }
        loop.assumeIsolated().scheduleTask(in: .fromSeconds(grace)) { self.deadlineReached() }
        exitIfDrained()
    }

    private func deadlineReached() {
        guard phase.deadlineReached() else { return }
        if metrics.inflight > 0 {
            logger.warning("graceful timeout: \(metrics.inflight) requests still in flight, exiting")
        }
        guard registry.webSocketCount > 0 else { Self.exitNow(0) }
        // WebSockets never finish by themselves: tell their peers we are going away.
        for channel in registry.webSocketChannels { channel.pipeline.fireUserInboundEventTriggered(WorkerEvent.goingAway) }
        loop.scheduleTask(in: .milliseconds(250)) { Self.exitNow(0) }
    }

    private func acceptorStopped() {
        phase.acceptorStopped()
        exitIfDrained()
    }

    private func exitIfDrained() {
        guard phase.shouldExit(connections: registry.count, inflight: metrics.inflight + hostedHandlers) else { return }
        logger.debug("drained after \(metrics.requests) requests")
        Self.exitNow(0)
    }

    /// Exits without running atexit handlers while other threads still run.
    static func exitNow(_ code: Int32) -> Never {
        fflush(nil)
        _exit(code)
    }
}

extension Worker: ConnectionObserver {
    var isDraining: Bool { phase.isDraining }

    func connectionOpened(_ channel: Channel) {
        registry.opened(channel)
        // Accepted just as the drain began: told like the others.
        if phase.isDraining, serving.schedulesRequests { channel.pipeline.fireUserInboundEventTriggered(WorkerEvent.draining) }
    }

    func connectionClosed(_ channel: Channel) {
        registry.closed(channel)
        exitIfDrained()
    }

    func connection(_ channel: Channel, busy: Bool) {
        registry.setBusy(channel, busy)
        // Another protocol's connection idle during a drain (one accepted as it began) closes.
        if !busy, phase.isDraining, case .connections = serving { channel.close(promise: nil) }
    }
    func bytesReceived(_ count: Int) { metrics.bytesReceived(count) }
    func bytesSent(_ count: Int) { metrics.bytesSent(count) }
    func requestStarted() { metrics.requestStarted() }

    /// `METHOD target` is assembled on the stack, as much of it as a slot keeps: no
    /// string is built for each request.
    func requestBegan(method: String, target: String) -> Int32 {
        guard let scoreboard else { return -1 }
        var (method, target, space) = (method, target, " ")
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(PULSE_SCOREBOARD_TEXT)) { line in
            // Each piece returns where the line ends now: a count captured by a nested
            // function was boxed, and every access to the box was checked at run time.
            var count = Self.append(&method, to: line, at: 0)
            count = Self.append(&space, to: line, at: count)
            count = Self.append(&target, to: line, at: count)
            return pulse_scoreboard_begin(scoreboard, line.baseAddress, count)
        }
    }

    /// Copies as much of `text` as fits into `line` from `count`; the new end.
    private static func append(_ text: inout String, to line: UnsafeMutableBufferPointer<CChar>, at count: Int) -> Int {
        text.withUTF8 { bytes in
            let kept = min(bytes.count, line.count - count)
            guard kept > 0, let source = bytes.baseAddress, let destination = line.baseAddress else { return count }
            UnsafeMutableRawPointer(destination + count).copyMemory(from: source, byteCount: kept)
            return count + kept
        }
    }

    func requestEnded(slot: Int32) { pulse_scoreboard_end(scoreboard, slot) }

    var logsAccess: Bool { accessLog != nil }

    func logAccess(_ record: AccessRecord) {
        var record = record
        record.worker = launch.name
        accessLog?.write(record)
    }

    func requestFinished(status: Int, seconds: Double, bytesOut: Int) {
        metrics.requestFinished(status: status, seconds: seconds, bytesOut: bytesOut)
        let limit = launch.settings.maxRequests
        if limit > 0, metrics.requests >= limit, !retireSent {
            retireSent = true
            mailbox.send(.retire(requests: metrics.requests))
        }
        // The connection may already be gone (its client left mid-request).
        exitIfDrained()
    }

    func webSocketOpened(_ channel: Channel) { registry.webSocketOpened(channel) }

    func hostedHandler(running: Bool) {
        hostedHandlers += running ? 1 : -1
        if !running { exitIfDrained() }
    }
    func webSocketClosed(_ channel: Channel) { registry.webSocketClosed(channel) }
}

/// Events the worker sends down its connections' pipelines (a hosted server's
/// handlers may act on them too).
public enum WorkerEvent: Sendable {
    /// The worker drains: idle keep-alive connections close soon.
    case draining
    /// The worker is about to exit: WebSockets close with 1001.
    case goingAway
}
