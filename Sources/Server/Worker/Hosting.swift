import Logging
import Mailbox
import NIOCore
import PulsarRuntime

/// An HTTP server other than pulse's own, serving a worker's connections:
/// Hummingbird's HTTP/1.1 channel, say. The worker still accepts, schedules the
/// handlers (thread or cooperative), keeps the books, heartbeats and drains;
/// the hosted server speaks HTTP on each connection it is given.
public protocol HostedServing: Sendable {
    /// Once, before the worker reports ready.
    func boot(_ host: HostingWorker) async throws
    /// On the connection's event loop, before it is registered: builds its pipeline
    /// and returns what serves it until it closes (run as a task on the loop).
    func connection(_ channel: Channel, host: HostingWorker) -> EventLoopFuture<@Sendable () async -> Void>
}

/// What pulse offers a hosted server: where handlers run, and the books the
/// heartbeat, the drain and `--max-requests` need.
///
/// `run` may be called from anywhere; the book-keeping methods only on the
/// worker's event loop (a connection's handlers are).
public struct HostingWorker: Sendable {
    /// The worker's name, settings and shared values.
    public let context: WorkerContext
    public let eventLoop: EventLoop
    public let logger: Logger
    let observer: NIOLoopBound<any ConnectionObserver>
    let runner: NIOLoopBound<any RequestRunner>

    public var settings: WorkerSettings { context.settings }

    /// The worker's queue is full: answer 503 with `Retry-After`, as pulse's own apps do.
    public struct QueueFull: Error, CustomStringConvertible {
        public var description: String { "the worker's queue is full" }
    }

    /// Runs a request's handler in the worker's execution mode: on a pool thread from
    /// start to end (thread mode), or as a task on the event loop (cooperative), at
    /// most the pool's size at once and the rest queued in order. Throws `QueueFull`
    /// when the queue is full; cancelling the caller cancels the handler.
    public func run<Value: Sendable>(_ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
        // Called from a connection's task on the loop with a slot free and nobody
        // waiting: the handler runs in this task, moved to its pool thread if need
        // be, with no new task and no continuation.
        if eventLoop.inEventLoop, let slot = runner.value.acquireNow() {
            let release = { [runner, eventLoop] in
                if eventLoop.inEventLoop { runner.value.release(slot) } else { eventLoop.execute { runner.value.release(slot) } }
            }
            do {
                let value = try await Execution.$mode.withValue(slot.mode) {
                    try await Execution.$executor.withValue(slot.executor) {
                        slot.mode == .thread ? try await withTaskExecutorPreference(slot.executor, operation: body) : try await body()
                    }
                }
                release()
                return value
            } catch {
                release()
                throw error
            }
        }
        let token = RequestToken()
        let (loop, runner) = (eventLoop, self.runner)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, Error>) in
                loop.execute {
                    let accepted = runner.value.submit(token: token) {
                        do { continuation.resume(returning: try await body()) } catch { continuation.resume(throwing: error) }
                    }
                    if !accepted { continuation.resume(throwing: QueueFull()) }
                }
            }
        } onCancel: {
            token.cancel()
        }
    }

    /// The worker is draining: responses should close their connections.
    public var isDraining: Bool { observer.value.isDraining }

    /// A request's head arrived on `channel` (it is busy until its response ends).
    public func requestStarted(on channel: Channel) {
        observer.value.connection(channel, busy: true)
        observer.value.requestStarted()
    }

    /// A request's response ended: counted by status class, its latency recorded.
    /// `idle`: no other request (pipelined behind it) is waiting on the connection.
    public func requestFinished(on channel: Channel, status: Int, seconds: Double, bytesOut: Int, idle: Bool = true) {
        if idle { observer.value.connection(channel, busy: false) }
        observer.value.requestFinished(status: status, seconds: seconds, bytesOut: bytesOut)
    }
}

/// Keeps a hosted connection's books at the byte level, in front of whatever the
/// hosted server adds: opened, closed, bytes, and whether it became a WebSocket
/// (a `101` status line written). At the graceful deadline a WebSocket is sent a
/// Close with 1001 (going away), whoever speaks WebSocket on it.
final class HostedConnectionBooks: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let observer: any ConnectionObserver
    private var isWebSocket: Bool

    /// `upgraded`: put in front of a connection pulse's own pipeline switched to
    /// another protocol, already counted as opened and as a WebSocket.
    init(observer: any ConnectionObserver, upgraded: Bool = false) {
        self.observer = observer
        self.isWebSocket = upgraded
    }

    func channelActive(context: ChannelHandlerContext) {
        observer.connectionOpened(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if isWebSocket { observer.webSocketClosed(context.channel) }
        observer.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        observer.bytesReceived(Self.unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = Self.unwrapOutboundIn(data)
        observer.bytesSent(buffer.readableBytes)
        if !isWebSocket, buffer.readableBytesView.starts(with: Self.switchingProtocols) {
            isWebSocket = true
            observer.webSocketOpened(context.channel)
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if isWebSocket, case WorkerEvent.goingAway? = event as? WorkerEvent {
            // FIN + Close, 2 bytes of payload: 1001.
            let close = context.channel.allocator.buffer(bytes: [0x88, 0x02, 0x03, 0xE9])
            context.writeAndFlush(Self.wrapOutboundOut(close), promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private static let switchingProtocols = Array("HTTP/1.1 101 ".utf8)
}
