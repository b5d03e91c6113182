import Mailbox
import NIOCore

/// What a connection's handlers tell the worker: the books the heartbeat, the drain
/// and `--max-requests` need. Called on the worker's event loop only.
///
/// A handler holds this rather than the worker itself, so it can be tested alone
/// with an `EmbeddedChannel` and a recording observer.
protocol ConnectionObserver: AnyObject {
    /// The worker is draining: responses close their connections.
    var isDraining: Bool { get }
    func connectionOpened(_ channel: Channel)
    func connectionClosed(_ channel: Channel)
    /// Busy from a request's head to its response's end. A connection that has been
    /// idle after answering is closed when the worker drains.
    func connection(_ channel: Channel, busy: Bool)
    func bytesReceived(_ count: Int)
    func bytesSent(_ count: Int)
    func requestStarted()
    func requestFinished(status: Int, seconds: Double, bytesOut: Int)
    func webSocketOpened(_ channel: Channel)
    func webSocketClosed(_ channel: Channel)
    /// A hosted server's handler started or ended: a drain waits for those still
    /// running, even when their client has gone.
    func hostedHandler(running: Bool)
    /// A request began (`GET /path`): written to the worker's scoreboard, where the
    /// arbiter reads it even if the worker hangs. Returns the slot, or -1.
    func requestBegan(method: String, target: String) -> Int32
    func requestEnded(slot: Int32)
    /// Whether answered requests go to an access log (`--access-log`).
    var logsAccess: Bool { get }
    func logAccess(_ record: AccessRecord)
}

extension ConnectionObserver {
    func requestBegan(method: String, target: String) -> Int32 { -1 }
    func requestEnded(slot: Int32) {}
    var logsAccess: Bool { false }
    func logAccess(_ record: AccessRecord) {}
}

/// What a job that ended off the event loop leaves to do on it (write its response,
/// close its books): run there in the one hop that also gives its slot back.
typealias LoopFollowUp = @Sendable () -> Void

/// Where request handlers run: the execution pools. Called on the event loop.
protocol RequestRunner: AnyObject {
    /// Queues `job`; false when the queue is full (the caller answers 503). What the
    /// job returns runs on the loop once it ends, before the next queued job starts.
    func submit(token: RequestToken?, _ job: @escaping @Sendable () async -> LoopFollowUp?) -> Bool
    /// A slot at once for a caller already in a task, when one is free and nothing
    /// waits: the caller runs its handler on `executor` and gives the slot back.
    func acquireNow() -> ExecutionSlot?
    func release(_ slot: ExecutionSlot)
}

/// A slot of an execution pool held by a request: a pool thread, or a green slot.
struct ExecutionSlot {
    enum Kind { case thread(Int), green }
    let kind: Kind
    let mode: ExecutionMode
    let executor: any TaskExecutor
}
