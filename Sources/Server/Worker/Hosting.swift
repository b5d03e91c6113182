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
            observer.value.hostedHandler(running: true)
            defer { finished(slot) }
            return try await Execution.$mode.withValue(slot.mode) {
                try await Execution.$executor.withValue(slot.executor) {
                    guard slot.mode == .thread else { return try await body() }
                    let value = try await withTaskExecutorPreference(slot.executor, operation: body)
                    // Back on the loop before the slot is free: the rest of this task
                    // (writing the response) must not hold up the thread's next request.
                    await Task.yield()
                    return value
                }
            }
        }
        let token = RequestToken()
        let (loop, runner, observer) = (eventLoop, self.runner, self.observer)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, Error>) in
                loop.execute {
                    let accepted = runner.value.submit(token: token) {
                        do { continuation.resume(returning: try await body()) } catch { continuation.resume(throwing: error) }
                        return { observer.value.hostedHandler(running: false) }
                    }
                    // Counted from the queue on: its end is queued on the loop behind this.
                    if accepted { observer.value.hostedHandler(running: true) } else { continuation.resume(throwing: QueueFull()) }
                }
            }
        } onCancel: {
            token.cancel()
        }
    }

    /// Gives a slot taken by `run` back, on the loop.
    private func finished(_ slot: ExecutionSlot) {
        let (runner, observer) = (self.runner, self.observer)
        let release: @Sendable () -> Void = {
            runner.value.release(slot)
            observer.value.hostedHandler(running: false)
        }
        if eventLoop.inEventLoop { release() } else { eventLoop.execute(release) }
    }

    /// The worker is draining: responses should close their connections.
    public var isDraining: Bool { observer.value.isDraining }

    /// A request's head arrived on `channel` (it is busy until its response ends):
    /// into the books, the scoreboard, and the access log's pending line.
    public func requestStarted(on channel: Channel, method: String, target: String, referer: String?,
                               userAgent: String?) -> HostedRequest {
        observer.value.connection(channel, busy: true)
        observer.value.requestStarted()
        let slot = observer.value.requestBegan(method: method, target: target)
        let access = observer.value.logsAccess
            ? AccessRecord(remote: channel.remoteAddress?.ipAddress ?? "-", method: method, target: target, version: "HTTP/1.1",
                           referer: referer, userAgent: userAgent)
            : nil
        return HostedRequest(started: .now(), slot: slot, access: access)
    }

    /// A request's response ended: counted by status class, its latency recorded.
    /// `idle`: no other request (pipelined behind it) is waiting on the connection.
    public func requestFinished(_ request: HostedRequest, on channel: Channel, status: Int, bytesOut: Int, idle: Bool = true) {
        let seconds = Double((NIODeadline.now() - request.started).nanoseconds) / 1e9
        observer.value.requestEnded(slot: request.slot)
        if var record = request.access {
            (record.status, record.bytes, record.seconds) = (status, bytesOut, seconds)
            observer.value.logAccess(record)
        }
        if idle { observer.value.connection(channel, busy: false) }
        observer.value.requestFinished(status: status, seconds: seconds, bytesOut: bytesOut)
    }
}

/// A request a hosted server is answering, as pulse keeps its books: when it began,
/// its scoreboard slot, its access-log line so far.
public struct HostedRequest: Sendable {
    let started: NIODeadline
    let slot: Int32
    let access: AccessRecord?
}
