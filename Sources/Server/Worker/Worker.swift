import CPulseSystem
import Dispatch
import Foundation
import Glibc
import Logging
import Mailbox
import NIOConcurrencyHelpers
import NIOCore
import Histogram
import HTTPTypes
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A worker process: serves its service's app on the sockets it inherited, reports
/// to the arbiter every second, and drains when asked.
///
/// All mutable state is confined to the worker's single event loop.
public final class Worker: @unchecked Sendable {
    let launch: WorkerLaunch
    let serving: Serving
    /// The HTTP app; empty for a worker that serves another protocol.
    let app: App
    let loop: EventLoop
    let logger: Logger
    private var report = WorkerReport()
    /// Open connections; `served` ones have answered a request and idle ones of
    /// those are closed when the drain begins.
    private var connections: [ObjectIdentifier: (channel: Channel, busy: Bool, served: Bool)] = [:]
    private var arbiterIsGone = false
    /// The accept thread has stopped and every connection it took is registered.
    private var acceptorStopped = false
    private(set) var isDraining = false
    private var mailbox: Channel?
    private var acceptor: Acceptor?
    private var retireSent = false
    private var lastBeat = NIODeadline.now()
    /// Created on first use: a worker serving another protocol needs no pools.
    private(set) lazy var scheduler = RequestScheduler(settings: launch.settings, loop: loop, name: launch.name)
    let loopExecutor: EventLoopTaskExecutor
    /// Response times of the current heartbeat interval, in microseconds.
    private var latencies = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    private var webSockets: [ObjectIdentifier: Channel] = [:]

    private init(launch: WorkerLaunch, serving: Serving, loop: EventLoop, logger: Logger) {
        self.launch = launch
        self.serving = serving
        if case .http(let app) = serving { self.app = app } else { self.app = App(router: Router()) }
        self.loop = loop
        self.logger = logger
        self.loopExecutor = EventLoopTaskExecutor(loop: loop)
    }

    /// The settings of the worker running in this process, for app code: the data
    /// store's URL, the pool sizes. Nil outside a worker.
    public static var current: WorkerSettings? { currentSettings.withLockedValue { $0 } }
    private static let currentSettings = NIOLockedValueBox<WorkerSettings?>(nil)

    /// Adds figures of the app's own (a database pool...) to every heartbeat.
    /// Called from any thread; `report` runs on the event loop before each heartbeat.
    public static func addReporter(_ report: @escaping @Sendable (inout WorkerReport) -> Void) {
        reporters.withLockedValue { $0.append(report) }
    }
    private static let reporters = NIOLockedValueBox<[@Sendable (inout WorkerReport) -> Void]>([])

    /// Runs the worker described by `launch` until it has drained; never returns.
    public static func run(launch: WorkerLaunch, app: App) -> Never {
        run(launch: launch, serving: .http(app))
    }

    /// Runs a worker that serves its connections with `serving`; never returns.
    public static func run(launch: WorkerLaunch, serving: Serving) -> Never {
        currentSettings.withLockedValue { $0 = launch.settings }
        pulse_setproctitle("pulse: worker \(launch.name)")
        let level = Logger.Level(rawValue: launch.settings.logLevel) ?? .info
        LoggingSystem.bootstrap { _ in WorkerLogHandler(logLevel: level) }
        var logger = Logger(label: launch.name)
        logger.logLevel = level
        signal(SIGPIPE, SIG_IGN)
        // stdout is a pipe to the arbiter: line-buffer it so an app's print() shows up now.
        pulse_line_buffer_stdout()

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let worker = Worker(launch: launch, serving: serving, loop: group.next(), logger: logger)
        worker.installSignalHandlers()
        worker.loop.execute { worker.start() }
        while true { pause() }
    }

    private var signalSources: [DispatchSourceSignal] = []

    private func installSignalHandlers() {
        for signalNumber in [SIGTERM, SIGINT, SIGQUIT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in
                if signalNumber == SIGQUIT { Self.exitNow(0) }
                loop.execute { self.drain(grace: self.launch.settings.gracefulTimeout, why: "signal \(signalNumber)") }
            }
            source.resume()
            signalSources.append(source)
        }
    }

    private func start() {
        NIOPipeBootstrap(group: loop)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(WorkerMailboxHandler(worker: self))
                }
            }
            .takingOwnershipOfDescriptor(inputOutput: launch.mailboxFD)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel): mailbox = channel
                case .failure(let error):
                    logger.critical("cannot open the mailbox to the arbiter: \(error)")
                    Self.exitNow(70)
                }
            }
        let interval = TimeAmount.milliseconds(Int64(launch.settings.heartbeatInterval * 1000))
        lastBeat = .now()
        loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in heartbeat(interval: interval) }

        let promise = loop.makePromise(of: Void.self)
        switch serving {
        case .http(let app):
            let boot = app.boot
            promise.completeWithTask { try await boot() }
        case .connections(let custom):
            let loop = self.loop
            promise.completeWithTask { try await custom.boot(on: loop) }
        }
        promise.futureResult.whenComplete { [self] result in
            switch result {
            case .success: accept()
            case .failure(let error):
                logger.critical("boot failed: \(error)")
                Self.exitNow(3)
            }
        }
    }

    private func accept() {
        let acceptor = Acceptor(
            listenFDs: launch.listenFDs, arbiterPID: launch.arbiterPID,
            onConnection: { [self] fd in
                // On failure NIO may or may not have closed the fd already; a leak
                // on this path is safer than a double close in a threaded process.
                adopt(connection: fd).whenFailure { error in self.logger.error("cannot adopt a connection: \(error)") }
            },
            onArbiterGone: { [self] in
                loop.execute { self.arbiterGone() }
            },
            onStopped: { [self] in
                // Queued behind the registration of every connection it accepted.
                loop.execute {
                    self.acceptorStopped = true
                    self.exitIfDrained()
                }
            })
        self.acceptor = acceptor
        acceptor.start()
        logger.debug("accepting on \(launch.binds.map(\.description).joined(separator: ", "))")
        send(.ready(pid: getpid()))
    }

    /// Hands an accepted socket to the event loop: a byte counter, the HTTP codec
    /// with WebSocket upgrades, the keep-alive timer, then the app.
    private func adopt(connection fd: Int32) -> EventLoopFuture<Channel> {
        if case .connections(let custom) = serving {
            return ClientBootstrap(group: loop)
                .channelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ConnectionBookkeeper(worker: self))
                        try custom.configure(channel)
                    }
                }
                .withConnectedSocket(fd)
        }
        let settings = launch.settings
        let keepAlive = TimeAmount.milliseconds(Int64(settings.keepAlive * 1000))
        let ping = TimeAmount.milliseconds(Int64(settings.webSocketPing * 1000))
        let router = app.router
        return ClientBootstrap(group: loop)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    let books = ConnectionBooks()
                    let http = HTTPConnectionHandler(worker: self, books: books)
                    let boundHTTP = NIOLoopBound(http, eventLoop: channel.eventLoop)
                    let upgrader = NIOWebSocketServerUpgrader(
                        maxFrameSize: settings.maxWebSocketMessage,
                        automaticErrorHandling: true,
                        shouldUpgrade: { channel, head in
                            let path = String(head.uri.split(separator: "?").first ?? "")
                            return channel.eventLoop.makeSucceededFuture(router.webSocketHandlers(for: path) == nil ? nil : HTTPHeaders())
                        },
                        upgradePipelineHandler: { [self] channel, head in
                            channel.eventLoop.makeCompletedFuture {
                                let path = String(head.uri.split(separator: "?").first ?? "")
                                guard let (handlers, parameters) = router.webSocketHandlers(for: path) else { return }
                                var request = Request(method: .get, target: head.uri, headers: HTTPFields(head.headers),
                                                      remoteAddress: channel.remoteAddress?.ipAddress, eventLoop: channel.eventLoop)
                                request.pathParameters = parameters
                                let sync = channel.pipeline.syncOperations
                                try sync.addHandler(ClientMaskCheck())
                                try sync.addHandler(NIOWebSocketFrameAggregator(
                                    minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024,
                                    maxAccumulatedFrameSize: settings.maxWebSocketMessage))
                                try sync.addHandler(WebSocketConnectionHandler(
                                    worker: self, socket: WebSocket(request: request, channel: channel),
                                    handlers: handlers, pingInterval: ping))
                            }
                        })
                    try sync.addHandler(RawByteCounter(books: books, worker: self))
                    try sync.configureHTTPServerPipeline(
                        withPipeliningAssistance: true,
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                            _ = context.pipeline.syncOperations.removeHandler(boundHTTP.value)
                        }),
                        withErrorHandling: false)
                    try sync.addHandler(IdleStateHandler(readTimeout: keepAlive))
                    try sync.addHandler(http)
                }
            }
            .withConnectedSocket(fd)
    }

    // MARK: - Books

    func connectionOpened(_ channel: Channel) {
        connections[ObjectIdentifier(channel)] = (channel, false, false)
        report.connections = connections.count
    }

    func connectionClosed(_ channel: Channel) {
        connections.removeValue(forKey: ObjectIdentifier(channel))
        report.connections = connections.count
        exitIfDrained()
    }

    func connection(_ channel: Channel, busy: Bool) {
        connections[ObjectIdentifier(channel)]?.busy = busy
        if !busy { connections[ObjectIdentifier(channel)]?.served = true }
    }

    func requestStarted() {
        report.inflight += 1
    }

    func countBytesIn(_ count: Int) { report.bytesIn += count }
    func countBytesOut(_ count: Int) { report.bytesOut += count }

    func webSocketOpened(_ channel: Channel) {
        webSockets[ObjectIdentifier(channel)] = channel
    }

    func webSocketClosed(_ channel: Channel) {
        webSockets.removeValue(forKey: ObjectIdentifier(channel))
    }

    func requestFinished(status: Int, seconds: Double, bytesOut: Int) {
        report.inflight -= 1
        report.requests += 1
        report.bytesOut += bytesOut
        _ = latencies.record(UInt64(max(0, seconds) * 1_000_000))
        let statusClass = min(max(status / 100, 1), 5) - 1
        report.statusClasses[statusClass] += 1
        let limit = launch.settings.maxRequests
        if limit > 0, report.requests >= limit, !retireSent {
            retireSent = true
            send(.retire(requests: report.requests))
        }
        // The connection may already be gone (its client left mid-request).
        exitIfDrained()
    }

    // MARK: - Mailbox

    private func heartbeat(interval: TimeAmount) {
        let now = NIODeadline.now()
        let lag = (now - lastBeat - interval).nanoseconds
        lastBeat = now
        report.loopLagMs = Double(max(0, lag)) / 1_000_000
        switch serving {
        case .http:
            report.mode = scheduler.mode.rawValue
            report.threads = PoolOccupancy(busy: scheduler.busyThreads, size: scheduler.threadCount)
            report.green = PoolOccupancy(busy: scheduler.busyGreen, size: scheduler.greenCount)
            report.queue = scheduler.queued
            report.websockets = webSockets.count
            report.latencyMs = LatencySummary(microseconds: latencies)
            latencies.reset()
        case .connections(let custom):
            custom.fill(&report)
        }
        for reporter in Self.reporters.withLockedValue({ $0 }) { reporter(&report) }
        send(.heartbeat(report))
    }

    private func send(_ message: WorkerMessage) {
        guard let mailbox, let bytes = try? MailboxFraming.encode(message) else { return }
        mailbox.writeAndFlush(mailbox.allocator.buffer(bytes: bytes), promise: nil)
    }

    func received(_ message: ArbiterMessage) {
        switch message {
        case .drain(let grace): drain(grace: grace, why: "asked by the arbiter")
        case .mode(let mode):
            guard case .http = serving, mode != scheduler.mode else { return }
            logger.info("execution mode: \(scheduler.mode.rawValue) -> \(mode.rawValue)")
            scheduler.setMode(mode)
        }
    }

    func arbiterGone() {
        guard !arbiterIsGone else { return }
        arbiterIsGone = true
        mailbox = nil
        logger.warning("the arbiter (pid \(launch.arbiterPID)) is gone: exiting")
        drain(grace: min(1, launch.settings.gracefulTimeout), why: "arbiter gone")
    }

    // MARK: - Draining

    /// Stops accepting, closes idle connections, lets requests in flight finish
    /// within `grace` seconds, then exits 0.
    func drain(grace: Double, why: String) {
        loop.preconditionInEventLoop()
        guard !isDraining else { return }
        isDraining = true
        acceptor?.stop()
        logger.info("draining (\(why)): \(report.inflight) requests in flight, \(connections.count) connections")
        // A connection that has not sent its first request yet may have one on the
        // wire: it is served (with `Connection: close`) rather than cut off.
        for (channel, busy, served) in connections.values where served && !busy {
            channel.close(promise: nil)
        }
        loop.scheduleTask(in: .milliseconds(Int64(grace * 1000))) { [self] in
            if report.inflight > 0 {
                logger.warning("graceful timeout: \(report.inflight) requests still in flight, exiting")
            }
            guard !webSockets.isEmpty else { Self.exitNow(0) }
            // WebSockets never finish by themselves: tell their peers we are going away.
            for channel in webSockets.values { channel.pipeline.fireUserInboundEventTriggered(WorkerEvent.goingAway) }
            loop.scheduleTask(in: .milliseconds(250)) { Self.exitNow(0) }
        }
        exitIfDrained()
    }

    private func exitIfDrained() {
        guard isDraining, acceptor == nil || acceptorStopped else { return }
        logger.debug("drain check: \(connections.count) connections, \(report.inflight) in flight")
        if connections.isEmpty, report.inflight == 0 {
            logger.debug("drained after \(report.requests) requests")
            Self.exitNow(0)
        }
    }

    /// Exits without running atexit handlers while other threads still run.
    static func exitNow(_ code: Int32) -> Never {
        fflush(nil)
        _exit(code)
    }
}

/// What a worker serves: an HTTP app, or connections of another protocol.
public enum Serving: Sendable {
    case http(App)
    case connections(any ConnectionServing)
}

/// A protocol other than HTTP served by a supervised worker (the data store's RESP).
/// The worker still accepts, heartbeats and drains; this decides what a connection does.
public protocol ConnectionServing: Sendable {
    /// Once, before the worker reports ready.
    func boot(on loop: EventLoop) async throws
    /// On the connection's event loop, before it becomes active.
    func configure(_ channel: Channel) throws
    /// On the event loop, before each heartbeat: the figures this protocol keeps.
    func fill(_ report: inout WorkerReport)
}

/// Keeps the worker's connection count for protocols other than HTTP, so drains see them.
final class ConnectionBookkeeper: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let worker: Worker

    init(worker: Worker) { self.worker = worker }

    func channelActive(context: ChannelHandlerContext) {
        worker.connectionOpened(context.channel)
        // Idle between requests from the start: a drain closes it rather than
        // waiting out the grace period for a client that may never leave.
        worker.connection(context.channel, busy: false)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        worker.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        worker.countBytesIn(Self.unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }
}

/// Hands arbiter messages to the worker; the mailbox closing means the arbiter died.
final class WorkerMailboxHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let worker: Worker

    init(worker: Worker) { self.worker = worker }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let message = try? MailboxFraming.decode(ArbiterMessage.self, from: Self.unwrapInboundIn(data).readableBytesView) else {
            worker.logger.warning("unreadable message from the arbiter")
            return
        }
        worker.received(message)
    }

    func channelInactive(context: ChannelHandlerContext) {
        worker.arbiterGone()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
