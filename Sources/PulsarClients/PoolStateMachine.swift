/// The rules of a bounded connection pool as a plain value, after postgres-nio's
/// `PoolStateMachine` and SwiftNIO's state machines: each event is a mutating method
/// returning the action its caller must carry out. No locks, no I/O, no clocks, so
/// every rule is testable without threads; `ConnectionPool` only does what it is told.
///
/// A slot (one of `size`) is always in exactly one of these states:
///
/// - free: no connection. Valid transitions: to opening (`checkOut` returns `.open`).
/// - opening: reserved for a caller who is opening a connection in it. Valid transitions:
///   to in use (the open succeeded: no event, the opener uses the connection); to free
///   (`openFailed`, nobody waiting: `.released`); to opening for the oldest waiter
///   (`openFailed`: `.open(for:)`, the slot passes on so the waiter gets its own try).
/// - in use: its connection is out with a caller. Valid transitions: to idle (`checkIn`,
///   nobody waiting: `.idle`); to in use by the oldest waiter (`checkIn`: `.resume`, the
///   connection handed over directly); to free (`discard`, nobody waiting: `.released`);
///   to opening for the oldest waiter (`discard`: `.open(for:)`).
/// - idle: its connection waits in the pool. Valid transitions: to in use (`checkOut`
///   returns `.use`, the most recently checked in first, the likeliest still alive).
///
/// A waiter (one caller of `checkOut`) is in one of these states:
///
/// - new. Valid transitions: to served (`.use` or `.open`: it never waits); to queued
///   (`.wait`: nothing idle and every slot taken).
/// - queued, in FIFO order. Valid transitions: to resumed with a connection (`checkIn`);
///   to resumed with a slot to open (`discard`, `openFailed`); to gone (`cancelWait`
///   returns `.removed`: it timed out or was cancelled, and throws).
/// - resumed: taken off the queue by an action the wrapper is about to carry out. Valid
///   transitions: none here. A `cancelWait` that loses this race returns `.notQueued`,
///   and the waiter must take what it is handed: use the connection (or check it back
///   in), or open the slot (or report `openFailed`). Dropping it would leak a slot.
///
/// Invariant: waiters queue only while nothing is idle and every slot is taken, so any
/// connection or slot that comes back goes to the oldest waiter before anyone else.
struct PoolStateMachine<Connection, WaiterID: Hashable> {
    enum CheckOutAction {
        /// An idle connection: the caller uses it.
        case use(Connection)
        /// A slot is reserved: the caller opens a connection (`openFailed` if it cannot).
        case open
        /// The caller is queued: it waits for `.resume` or `.open(for:)`, or `cancelWait`s.
        case wait
    }

    enum CheckInAction {
        /// Hand the connection to this waiter, just taken off the queue.
        case resume(WaiterID, Connection)
        /// Nobody was waiting: the connection is idle in the pool.
        case idle
    }

    /// What happens to the slot of a connection discarded or never opened.
    enum SlotAction {
        /// The slot passes to this waiter, just taken off the queue: it opens a connection.
        case open(for: WaiterID)
        /// Nobody was waiting: the slot is free again.
        case released
    }

    enum CancelWaitAction {
        /// The waiter was queued and is no more: it gives up (timeout or cancellation).
        case removed
        /// Not queued: an action has already resumed it, and it must take what it gets.
        case notQueued
    }

    /// The most connections open at once, including those being opened.
    let size: Int
    private var idle: [Connection] = []
    /// Connections open or being opened: in use plus idle.
    private(set) var open = 0
    /// Oldest first. A pool's queue is short, so `removeFirst`'s O(n) is cheaper than a deque.
    private var waiters: [WaiterID] = []

    init(size: Int) {
        precondition(size > 0, "a pool needs at least one connection")
        self.size = size
    }

    /// Connections out with callers, or being opened for them.
    var inUse: Int { open - idle.count }
    /// Callers queued for a connection.
    var waiting: Int { waiters.count }
    /// Connections idle in the pool.
    var idleCount: Int { idle.count }

    mutating func checkOut(waiter: WaiterID) -> CheckOutAction {
        if let connection = idle.popLast() { return .use(connection) }
        if open < size {
            open += 1
            return .open
        }
        assert(!waiters.contains(waiter), "waiter \(waiter) is already queued")
        waiters.append(waiter)
        return .wait
    }

    mutating func checkIn(_ connection: Connection) -> CheckInAction {
        guard inUse > 0 else { preconditionFailure("checked in a connection the pool never handed out") }
        if !waiters.isEmpty { return .resume(waiters.removeFirst(), connection) }
        idle.append(connection)
        return .idle
    }

    /// A connection that was out is broken and dropped: its slot is given up.
    mutating func discard() -> SlotAction {
        guard inUse > 0 else { preconditionFailure("discarded a connection the pool never handed out") }
        return releaseSlot()
    }

    /// Opening a connection in a reserved slot failed: the slot is given up.
    mutating func openFailed() -> SlotAction {
        guard inUse > 0 else { preconditionFailure("an open failed in a slot the pool never reserved") }
        return releaseSlot()
    }

    mutating func cancelWait(_ waiter: WaiterID) -> CancelWaitAction {
        guard let index = waiters.firstIndex(of: waiter) else { return .notQueued }
        waiters.remove(at: index)
        return .removed
    }

    /// The oldest waiter inherits the slot (the count stays); otherwise it is freed.
    private mutating func releaseSlot() -> SlotAction {
        if !waiters.isEmpty { return .open(for: waiters.removeFirst()) }
        open -= 1
        return .released
    }
}

extension PoolStateMachine: Sendable where Connection: Sendable, WaiterID: Sendable {}
extension PoolStateMachine.CheckOutAction: Sendable where Connection: Sendable, WaiterID: Sendable {}
extension PoolStateMachine.CheckInAction: Sendable where Connection: Sendable, WaiterID: Sendable {}
extension PoolStateMachine.SlotAction: Sendable where WaiterID: Sendable {}
extension PoolStateMachine.CancelWaitAction: Sendable {}

// Comparable actions make the tests read as the rules do.
extension PoolStateMachine.CheckOutAction: Equatable where Connection: Equatable {}
extension PoolStateMachine.CheckInAction: Equatable where Connection: Equatable {}
extension PoolStateMachine.SlotAction: Equatable {}
extension PoolStateMachine.CancelWaitAction: Equatable {}
