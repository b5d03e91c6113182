import Foundation
import NIOConcurrencyHelpers

/// A bounded pool: idle connections are reused, new ones opened up to the size, and
/// callers beyond it wait in line, blocking their thread (thread mode) or suspending
/// (cooperative mode). `PoolStateMachine` decides everything; this class keeps it
/// behind a lock and wakes exactly the waiter it names, so nobody polls.
///
/// A waiter is woken with a connection, or with a slot freed by a discard or a failed
/// open, in which case it opens the connection itself.
final class ConnectionPool<Connection: Sendable>: Sendable {
    private typealias Machine = PoolStateMachine<Connection, UInt64>

    /// What a waiter is handed when its turn comes.
    enum Grant: Sendable {
        case connection(Connection)
        /// A reserved slot: the waiter opens a connection in it.
        case slot
    }

    /// A queued caller, woken the way it waits.
    private enum Waiter: Sendable {
        case blocking(BlockingWaiter<Grant>)
        case suspended(CheckedContinuation<Grant, any Error>)
    }

    /// Invariant: `waiters` holds exactly the ids queued in `machine`; both change in
    /// one critical section, so whoever removes an id resumes its waiter, once.
    private struct State: Sendable {
        var machine: Machine
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0

        mutating func makeID() -> UInt64 {
            defer { nextID += 1 }
            return nextID
        }

        mutating func take(_ id: UInt64) -> Waiter {
            guard let waiter = waiters.removeValue(forKey: id) else { preconditionFailure("waiter \(id) is not registered") }
            return waiter
        }
    }

    private let state: NIOLockedValueBox<State>
    let size: Int

    init(size: Int) {
        self.size = size
        state = NIOLockedValueBox(State(machine: Machine(size: size)))
    }

    /// Connections handed out (or being opened) and not yet back: for the heartbeat.
    var inUse: Int { state.withLockedValue { $0.machine.inUse } }
    /// Callers in line for a connection: for the heartbeat.
    var waiting: Int { state.withLockedValue { $0.machine.waiting } }
    /// Connections open or being opened, idle ones included.
    var open: Int { state.withLockedValue { $0.machine.open } }

    // MARK: Thread mode

    /// Checks out a connection, blocking the calling thread while the pool is full;
    /// throws `ConnectionPoolTimeout` if none comes within `timeout` seconds.
    func checkOut(timeout: Double, open: () throws -> Connection) throws -> Connection {
        let deadline = Date(timeIntervalSinceNow: timeout)
        let (id, action, waiter) = state.withLockedValue { state in
            let id = state.makeID()
            let action = state.machine.checkOut(waiter: id)
            guard case .wait = action else { return (id, action, BlockingWaiter<Grant>?.none) }
            let waiter = BlockingWaiter<Grant>()
            state.waiters[id] = .blocking(waiter)
            return (id, action, waiter)
        }
        switch action {
        case .use(let connection):
            return connection
        case .open:
            return try redeem(.slot, open: open)
        case .wait:
            guard let waiter else { preconditionFailure("a queued waiter has no condition") }
            if let grant = waiter.wait(until: deadline) { return try redeem(grant, open: open) }
            if leaveQueue(id) != nil { throw ConnectionPoolTimeout(seconds: timeout) }
            // The hand-off beat the deadline: its grant is ours and is being delivered now.
            guard let grant = waiter.wait(until: nil) else { preconditionFailure("woken with nothing") }
            return try redeem(grant, open: open)
        }
    }

    private func redeem(_ grant: Grant, open: () throws -> Connection) throws -> Connection {
        switch grant {
        case .connection(let connection):
            return connection
        case .slot:
            do { return try open() } catch {
                slotFreed { $0.openFailed() }
                throw error
            }
        }
    }

    // MARK: Cooperative mode

    /// Checks out a connection, suspending while the pool is full; throws
    /// `ConnectionPoolTimeout` if none comes within `timeout` seconds, and
    /// `CancellationError` at once if the task is cancelled while in line.
    func checkOutAsync(timeout: Double, open: () async throws -> Connection) async throws -> Connection {
        let id = state.withLockedValue { $0.makeID() }
        let grant = try await withTaskCancellationHandler {
            try await suspend(id, timeout: timeout)
        } onCancel: {
            self.resumeLeaving(id, throwing: CancellationError())
        }
        switch grant {
        case .connection(let connection):
            return connection
        case .slot:
            do { return try await open() } catch {
                slotFreed { $0.openFailed() }
                throw error
            }
        }
    }

    /// Joins the line (unless served at once) and suspends until a grant, the timer or
    /// the cancellation handler resumes the continuation: each path removes the waiter
    /// under the lock first, so exactly one of them resumes it.
    private func suspend(_ id: UInt64, timeout: Double) async throws -> Grant {
        var timer: Task<Void, Never>?
        defer { timer?.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            let action = state.withLockedValue { state -> Machine.CheckOutAction? in
                let action = state.machine.checkOut(waiter: id)
                guard case .wait = action else { return action }
                // Checked under the lock the cancellation handler takes: either it ran
                // before (the flag is set) or it will find this waiter queued.
                if Task.isCancelled {
                    _ = state.machine.cancelWait(id)
                    return nil
                }
                state.waiters[id] = .suspended(continuation)
                return action
            }
            switch action {
            case .use(let connection)?: continuation.resume(returning: .connection(connection))
            case .open?: continuation.resume(returning: .slot)
            case .wait?: timer = startTimer(for: id, timeout: timeout)
            case nil: continuation.resume(throwing: CancellationError())
            }
        }
    }

    /// Sleeps, rather than polls, until the deadline; cancelled once the waiter is served.
    private func startTimer(for id: UInt64, timeout: Double) -> Task<Void, Never> {
        // `Duration.seconds` traps on infinity and NaN: cap at a billion seconds.
        let seconds = timeout.isFinite ? min(timeout, 1e9) : 1e9
        return Task {
            do { try await Task.sleep(for: .seconds(seconds)) } catch { return }
            self.resumeLeaving(id, throwing: ConnectionPoolTimeout(seconds: timeout))
        }
    }

    /// Resumes a suspended waiter with `error` if it is still in line; if a grant got
    /// there first, the waiter keeps it.
    private func resumeLeaving(_ id: UInt64, throwing error: any Error) {
        if case .suspended(let continuation)? = leaveQueue(id) { continuation.resume(throwing: error) }
    }

    // MARK: Giving back

    /// Returns a healthy connection: straight to the oldest waiter, or to the idle ones.
    func checkIn(_ connection: Connection) {
        let handOff = state.withLockedValue { state -> (Waiter, Connection)? in
            switch state.machine.checkIn(connection) {
            case .idle: return nil
            case .resume(let id, let connection): return (state.take(id), connection)
            }
        }
        if case let (waiter, connection)? = handOff { resume(waiter, with: .connection(connection)) }
    }

    /// Drops a broken connection (closing it is its deinit's job); its slot goes to
    /// the oldest waiter, who opens a new one.
    func discard(_ connection: Connection) {
        slotFreed { $0.discard() }
    }

    private func slotFreed(_ event: (inout Machine) -> Machine.SlotAction) {
        let waiter = state.withLockedValue { state -> Waiter? in
            guard case .open(for: let id) = event(&state.machine) else { return nil }
            return state.take(id)
        }
        if let waiter { resume(waiter, with: .slot) }
    }

    /// Takes waiter `id` out of the line if it is still there (a timeout or a
    /// cancellation), nil if a grant already took it.
    private func leaveQueue(_ id: UInt64) -> Waiter? {
        state.withLockedValue { state in
            guard case .removed = state.machine.cancelWait(id) else { return nil }
            return state.take(id)
        }
    }

    /// Outside the lock: a woken thread or task should not find it held.
    private func resume(_ waiter: Waiter, with grant: Grant) {
        switch waiter {
        case .blocking(let waiter): waiter.resume(grant)
        case .suspended(let continuation): continuation.resume(returning: grant)
        }
    }
}

// MARK: Scoped use

extension ConnectionPool {
    /// How to open a connection, which also says how to wait for one: `.blocking`
    /// blocks the calling thread (thread mode), `.suspending` suspends the task.
    enum Opener {
        case blocking(() throws -> Connection)
        case suspending(() async throws -> Connection)
    }

    /// Checks a connection out, runs `body` on it and gives it back, on success and
    /// on throw: checked in if `isHealthy(connection, error)` says it can serve the
    /// next caller (`error` is nil when `body` returned), discarded otherwise. The
    /// default keeps it only when `body` returned: after a throw its state is unknown.
    /// `isUsable` checks an idle connection before it is handed out: one the server
    /// closed meanwhile (it restarted) is discarded and the next taken, so a restart
    /// costs no caller an error.
    func withConnection<T>(
        timeout: Double,
        open: Opener,
        isUsable: (Connection) -> Bool = { _ in true },
        isHealthy: (Connection, (any Error)?) -> Bool = { _, error in error == nil },
        _ body: (Connection) async throws -> T
    ) async throws -> T {
        var connection = try await checkOut(timeout: timeout, open: open)
        // Each discard frees a slot; after `size` of them the next one is newly opened.
        for _ in 0..<size where !isUsable(connection) {
            discard(connection)
            connection = try await checkOut(timeout: timeout, open: open)
        }
        do {
            let value = try await body(connection)
            giveBack(connection, healthy: isHealthy(connection, nil))
            return value
        } catch {
            giveBack(connection, healthy: isHealthy(connection, error))
            throw error
        }
    }

    private func checkOut(timeout: Double, open: Opener) async throws -> Connection {
        switch open {
        case .blocking(let open): try checkOut(timeout: timeout, open: open)
        case .suspending(let open): try await checkOutAsync(timeout: timeout, open: open)
        }
    }

    private func giveBack(_ connection: Connection, healthy: Bool) {
        if healthy { checkIn(connection) } else { discard(connection) }
    }
}

/// One blocked thread's place in line: it sleeps on its own condition variable, so a
/// hand-off wakes exactly the thread it is for.
/// @unchecked Sendable: `outcome` is only touched with `condition` locked.
private final class BlockingWaiter<Outcome: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var outcome: Outcome?

    func resume(_ outcome: Outcome) {
        condition.lock()
        self.outcome = outcome
        condition.signal()
        condition.unlock()
    }

    /// The outcome, or nil if `deadline` passed first; a nil deadline waits as long as it takes.
    func wait(until deadline: Date?) -> Outcome? {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil {
            if let deadline {
                guard condition.wait(until: deadline) else { break }
            } else {
                condition.wait()
            }
        }
        return outcome
    }
}

/// No connection came back to the pool in time; each client reports it in its own words.
struct ConnectionPoolTimeout: Error {
    let seconds: Double
}
