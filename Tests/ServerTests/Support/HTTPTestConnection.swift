import Logging
import Mailbox
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import PulsarRuntime
@testable import Server

/// What a connection's handlers told the worker, as a recording observer. Read by
/// the test while the handlers run on the testing loop, so every field is locked.
final class RecordingObserver: ConnectionObserver, Sendable {
    struct Books: Equatable {
        var opened = 0
        var closed = 0
        var started = 0
        var statuses: [Int] = []
        var bytesIn = 0
        var busy: [Bool] = []
        var webSockets = 0
    }
    let books = NIOLockedValueBox(Books())
    let draining = NIOLockedValueBox(false)

    var isDraining: Bool { draining.withLockedValue { $0 } }
    func connectionOpened(_ channel: Channel) { books.withLockedValue { $0.opened += 1 } }
    func connectionClosed(_ channel: Channel) { books.withLockedValue { $0.closed += 1 } }
    func connection(_ channel: Channel, busy: Bool) { books.withLockedValue { $0.busy.append(busy) } }
    func bytesReceived(_ count: Int) { books.withLockedValue { $0.bytesIn += count } }
    func bytesSent(_ count: Int) {}
    func requestStarted() { books.withLockedValue { $0.started += 1 } }
    func requestFinished(status: Int, seconds: Double, bytesOut: Int) { books.withLockedValue { $0.statuses.append(status) } }
    func webSocketOpened(_ channel: Channel) { books.withLockedValue { $0.webSockets += 1 } }
    func webSocketClosed(_ channel: Channel) { books.withLockedValue { $0.webSockets -= 1 } }
    func hostedHandler(running: Bool) {}
}

/// Runs each request as a plain task, as the cooperative pool would, and its
/// follow-up on the connection's loop; refuses all when told the queue is full.
final class TaskRunner: RequestRunner, Sendable {
    let queueFull = NIOLockedValueBox(false)
    let submitted = NIOLockedValueBox(0)
    let loop: EventLoop

    init(loop: EventLoop) { self.loop = loop }

    func submit(token: RequestToken?, _ job: @escaping @Sendable () async -> LoopFollowUp?) -> Bool {
        guard !queueFull.withLockedValue({ $0 }) else { return false }
        submitted.withLockedValue { $0 += 1 }
        let loop = self.loop
        token?.attach(Task {
            if let followUp = await job() { loop.execute(followUp) }
        })
        return true
    }

    /// The HTTP handler never asks; a hosted server's would, and gets no slot here.
    func acquireNow() -> ExecutionSlot? { nil }
    func release(_ slot: ExecutionSlot) {}
}

/// Records the reads that get past the handlers, to see back-pressure hold them.
final class ReadCounter: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = Any
    let reads = NIOLockedValueBox(0)
    func read(context: ChannelHandlerContext) {
        reads.withLockedValue { $0 += 1 }
        context.read()
    }
}

/// One HTTP connection on NIO's thread-safe embedded channel, with the pipeline a
/// worker builds: keep-alive timer, our decoder, the handler.
/// (Responses come back from other threads, which `EmbeddedChannel` does not allow.)
struct HTTPTestConnection {
    let channel = NIOAsyncTestingChannel()
    let observer = RecordingObserver()
    let runner: TaskRunner
    let reads = ReadCounter()

    init(router: Router, settings: WorkerSettings = WorkerSettings()) async throws {
        runner = TaskRunner(loop: channel.testingEventLoop)
        let configuration = HTTPServerConfiguration(settings: settings, router: router,
                                                    logger: Logger(label: "test"), context: .standalone)
        let (channel, observer, runner, reads) = (self.channel, self.observer, self.runner, self.reads)
        try await channel.testingEventLoop.executeInContext {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(reads)
            let timer = KeepAliveTimer(keepAlive: .fromSeconds(settings.keepAlive),
                                       headerTimeout: .fromSeconds(settings.headerTimeout), observer: observer)
            try sync.addHandler(timer)
            let decoder = try sync.addHTTPDecoder(forwardingLeftovers: true)
            try sync.addHandler(HTTPConnectionHandler(configuration: configuration, observer: observer, runner: runner, cycle: timer,
                                                      decoder: decoder))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4321)).get()
    }

    func send(_ text: String) async throws {
        try await channel.writeInbound(ByteBuffer(string: text))
    }

    /// Everything written back until `done` holds for it, running the loop between
    /// looks (responses arrive from the request's task); at most 5 s.
    func output(until done: (String) -> Bool) async throws -> String {
        var text = ""
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            await channel.testingEventLoop.run()
            while let buffer = try await channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            if done(text) { return text }
            try await Task.sleep(for: .milliseconds(2))
        }
        return text
    }

    /// Waits (running the loop) until `condition` holds; false after 5 s.
    func eventually(_ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            await channel.testingEventLoop.run()
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(2))
        }
        return false
    }

    var isActive: Bool { channel.isActive }
}

extension String {
    func occurrences(of part: String) -> Int { components(separatedBy: part).count - 1 }
}
