import Foundation
@testable import PulsarClients
import TestSupport
import Testing

/// A connection with nothing behind it: the pool only moves it around.
final class FakeConnection: Sendable, CustomStringConvertible {
    let id: Int
    init(id: Int) { self.id = id }
    var description: String { "connection \(id)" }
}

// The pool hands out the very object checked in, so identity is what tests compare.
extension FakeConnection: Equatable {
    static func == (left: FakeConnection, right: FakeConnection) -> Bool { left === right }
}

struct Boom: Error {}

/// The rules alone: no threads, no clock, each event and the action it returns.
@Suite(.blockingAllowed) struct PoolStateMachineTests {
    typealias Machine = PoolStateMachine<FakeConnection, Int>
    let a = FakeConnection(id: 1)
    let b = FakeConnection(id: 2)

    @Test func reusesTheLastConnectionCheckedIn() {
        var pool = Machine(size: 3)
        #expect(pool.checkOut(waiter: 1) == .open)
        #expect(pool.checkOut(waiter: 2) == .open)
        #expect(pool.checkIn(a) == .idle)
        #expect(pool.checkIn(b) == .idle)
        #expect(pool.checkOut(waiter: 3) == .use(b))
        #expect(pool.checkOut(waiter: 4) == .use(a))
        #expect(pool.open == 2)
    }

    @Test func opensUpToTheLimitThenQueues() {
        var pool = Machine(size: 2)
        #expect(pool.checkOut(waiter: 1) == .open)
        #expect(pool.checkOut(waiter: 2) == .open)
        #expect(pool.checkOut(waiter: 3) == .wait)
        #expect(pool.open == 2)
        #expect(pool.inUse == 2)
        #expect(pool.waiting == 1)
    }

    @Test func checkInHandsTheConnectionToTheOldestWaiter() {
        var pool = Machine(size: 1)
        #expect(pool.checkOut(waiter: 0) == .open)
        for waiter in 1...3 { #expect(pool.checkOut(waiter: waiter) == .wait) }
        for waiter in 1...3 {
            #expect(pool.checkIn(a) == .resume(waiter, a))
            #expect(pool.idleCount == 0)
            #expect(pool.inUse == 1)
        }
        #expect(pool.checkIn(a) == .idle)
        #expect(pool.waiting == 0)
        #expect(pool.inUse == 0)
    }

    @Test func discardPassesTheSlotToTheOldestWaiter() {
        var pool = Machine(size: 1)
        #expect(pool.checkOut(waiter: 0) == .open)
        #expect(pool.checkOut(waiter: 1) == .wait)
        #expect(pool.checkOut(waiter: 2) == .wait)
        #expect(pool.discard() == .open(for: 1))
        #expect(pool.open == 1)
        #expect(pool.waiting == 1)
        // Waiter 1 opened `b` in the slot; it serves waiter 2 next.
        #expect(pool.checkIn(b) == .resume(2, b))
        #expect(pool.discard() == .released)
        #expect(pool.open == 0)
        #expect(pool.inUse == 0)
    }

    @Test func failedOpenPassesTheSlotOn() {
        var pool = Machine(size: 1)
        #expect(pool.checkOut(waiter: 0) == .open)
        #expect(pool.checkOut(waiter: 1) == .wait)
        #expect(pool.openFailed() == .open(for: 1))
        #expect(pool.open == 1)
        #expect(pool.openFailed() == .released)
        #expect(pool.open == 0)
        #expect(pool.checkOut(waiter: 2) == .open)
    }

    @Test func cancelledWaiterLeavesTheLine() {
        var pool = Machine(size: 1)
        #expect(pool.checkOut(waiter: 0) == .open)
        #expect(pool.checkOut(waiter: 1) == .wait)
        #expect(pool.checkOut(waiter: 2) == .wait)
        #expect(pool.cancelWait(1) == .removed)
        #expect(pool.waiting == 1)
        #expect(pool.checkIn(a) == .resume(2, a))
    }

    @Test func cancelAfterTheHandOffKeepsTheConnectionOut() {
        var pool = Machine(size: 1)
        #expect(pool.checkOut(waiter: 0) == .open)
        #expect(pool.checkOut(waiter: 1) == .wait)
        #expect(pool.checkIn(a) == .resume(1, a))
        // The timeout lost the race: waiter 1 owns `a` and must bring it back.
        #expect(pool.cancelWait(1) == .notQueued)
        #expect(pool.inUse == 1)
        #expect(pool.checkIn(a) == .idle)
        #expect(pool.inUse == 0)
    }

    @Test func cancelAfterASlotGrantKeepsTheSlotReserved() {
        var pool = Machine(size: 1)
        #expect(pool.checkOut(waiter: 0) == .open)
        #expect(pool.checkOut(waiter: 1) == .wait)
        #expect(pool.discard() == .open(for: 1))
        #expect(pool.cancelWait(1) == .notQueued)
        #expect(pool.open == 1)
        // Waiter 1 must open the slot or give it up.
        #expect(pool.openFailed() == .released)
        #expect(pool.open == 0)
    }

    @Test func countsFollowEveryMove() {
        var pool = Machine(size: 2)
        _ = pool.checkOut(waiter: 1)
        _ = pool.checkOut(waiter: 2)
        _ = pool.checkOut(waiter: 3)
        #expect((pool.open, pool.inUse, pool.idleCount, pool.waiting) == (2, 2, 0, 1))
        _ = pool.checkIn(a)
        #expect((pool.open, pool.inUse, pool.idleCount, pool.waiting) == (2, 2, 0, 0))
        _ = pool.checkIn(a)
        #expect((pool.open, pool.inUse, pool.idleCount, pool.waiting) == (2, 1, 1, 0))
        _ = pool.discard()
        #expect((pool.open, pool.inUse, pool.idleCount, pool.waiting) == (1, 0, 1, 0))
    }

    // Checking in more than is out traps (`preconditionFailure`); exit tests
    // (`#expect(processExitsWith:)`) are not available here, so it is not tested.
}

/// The pool with real threads and tasks, and fake connections.
@Suite(.blockingAllowed) struct ConnectionPoolTests {
    typealias Pool = ConnectionPool<FakeConnection>

    @Test func blockingWaitersAreServedInOrder() async throws {
        let pool = Pool(size: 1)
        let first = try pool.checkOut(timeout: 1) { FakeConnection(id: 1) }
        let order = Recorder()
        var threads: [Task<FakeConnection, any Error>] = []
        for waiter in 1...3 {
            threads.append(Task(executorPreference: ThreadPerJobExecutor.shared) {
                try await onThread {
                    let connection = try pool.checkOut(timeout: 30) { FakeConnection(id: 99) }
                    order.append(waiter)
                    pool.checkIn(connection)
                    return connection
                }
            })
            try await eventually { pool.waiting == waiter }
        }
        pool.checkIn(first)
        for thread in threads { #expect(try await thread.value == first) }
        #expect(order.all == [1, 2, 3])
        #expect((pool.open, pool.inUse, pool.waiting) == (1, 0, 0))
    }

    @Test func suspendedWaitersAreResumedInOrderOnCheckIn() async throws {
        let pool = Pool(size: 1)
        let first = try await pool.checkOutAsync(timeout: 1) { FakeConnection(id: 1) }
        let order = Recorder()
        var tasks: [Task<Void, any Error>] = []
        for waiter in 1...3 {
            tasks.append(Task(executorPreference: ThreadPerJobExecutor.shared) {
                let connection = try await pool.checkOutAsync(timeout: 30) { FakeConnection(id: 99) }
                order.append(waiter)
                #expect(connection == first)
                pool.checkIn(connection)
            })
            try await eventually { pool.waiting == waiter }
        }
        // Each check-in hands the one connection to the next waiter: no second is opened.
        pool.checkIn(first)
        for task in tasks { try await task.value }
        #expect(order.all == [1, 2, 3])
        #expect((pool.open, pool.inUse, pool.waiting) == (1, 0, 0))
    }

    @Test func blockingWaiterTimesOut() async throws {
        let pool = Pool(size: 1)
        let first = try pool.checkOut(timeout: 1) { FakeConnection(id: 1) }
        await #expect(throws: ConnectionPoolTimeout.self) {
            try await onThread { _ = try pool.checkOut(timeout: 0.05) { FakeConnection(id: 2) } }
        }
        #expect(pool.waiting == 0)
        pool.checkIn(first)
        #expect(try pool.checkOut(timeout: 0) { FakeConnection(id: 3) } == first)
    }

    @Test func suspendedWaiterTimesOut() async throws {
        let pool = Pool(size: 1)
        let first = try await pool.checkOutAsync(timeout: 1) { FakeConnection(id: 1) }
        await #expect(throws: ConnectionPoolTimeout.self) {
            _ = try await pool.checkOutAsync(timeout: 0.05) { FakeConnection(id: 2) }
        }
        #expect(pool.waiting == 0)
        pool.checkIn(first)
        #expect(try await pool.checkOutAsync(timeout: 0) { FakeConnection(id: 3) } == first)
    }

    @Test func cancelledWaiterThrowsAndLeavesTheLine() async throws {
        let pool = Pool(size: 1)
        let first = try await pool.checkOutAsync(timeout: 1) { FakeConnection(id: 1) }
        let waiter = Task(executorPreference: ThreadPerJobExecutor.shared) { try await pool.checkOutAsync(timeout: 60) { FakeConnection(id: 2) } }
        try await eventually { pool.waiting == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(pool.waiting == 0)
        pool.checkIn(first)
        #expect((pool.open, pool.inUse) == (1, 0))
    }

    @Test func cancelledTaskNeverJoinsTheLine() async throws {
        let pool = Pool(size: 1)
        let first = try await pool.checkOutAsync(timeout: 1) { FakeConnection(id: 1) }
        let waiter = Task(executorPreference: ThreadPerJobExecutor.shared) {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await pool.checkOutAsync(timeout: 60) { FakeConnection(id: 2) }
        }
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(pool.waiting == 0)
        pool.checkIn(first)
    }

    @Test func discardLetsTheWaiterOpenANewConnection() async throws {
        let pool = Pool(size: 1)
        let broken = try await pool.checkOutAsync(timeout: 1) { FakeConnection(id: 1) }
        let waiter = Task(executorPreference: ThreadPerJobExecutor.shared) { try await pool.checkOutAsync(timeout: 60) { FakeConnection(id: 2) } }
        try await eventually { pool.waiting == 1 }
        pool.discard(broken)
        #expect(try await waiter.value.id == 2)
        #expect((pool.open, pool.inUse, pool.waiting) == (1, 1, 0))
    }

    @Test func failedOpenPassesTheSlotToTheNextWaiter() async throws {
        let pool = Pool(size: 1)
        let broken = try await pool.checkOutAsync(timeout: 1) { FakeConnection(id: 1) }
        let unlucky = Task(executorPreference: ThreadPerJobExecutor.shared) { try await pool.checkOutAsync(timeout: 60) { throw Boom() } }
        try await eventually { pool.waiting == 1 }
        let next = Task(executorPreference: ThreadPerJobExecutor.shared) { try await pool.checkOutAsync(timeout: 60) { FakeConnection(id: 3) } }
        try await eventually { pool.waiting == 2 }
        pool.discard(broken)
        await #expect(throws: Boom.self) { try await unlucky.value }
        #expect(try await next.value.id == 3)
        #expect((pool.open, pool.inUse, pool.waiting) == (1, 1, 0))
    }

    @Test(arguments: [true, false])
    func scopedUseGivesTheConnectionBack(blocking: Bool) async throws {
        let pool = Pool(size: 1)
        let open: Pool.Opener = blocking ? .blocking { FakeConnection(id: 1) } : .suspending { FakeConnection(id: 1) }
        #expect(try await pool.withConnection(timeout: 1, open: open) { $0.id } == 1)
        #expect((pool.open, pool.inUse) == (1, 0))
        // Healthy after a throw: checked back in.
        await #expect(throws: Boom.self) {
            try await pool.withConnection(timeout: 1, open: open, isHealthy: { _, _ in true }) { _ -> Int in throw Boom() }
        }
        #expect((pool.open, pool.inUse) == (1, 0))
        // By default a connection that threw is unhealthy: discarded.
        await #expect(throws: Boom.self) {
            try await pool.withConnection(timeout: 1, open: open) { _ -> Int in throw Boom() }
        }
        #expect((pool.open, pool.inUse) == (0, 0))
        // Unhealthy after a success: discarded too.
        _ = try await pool.withConnection(timeout: 1, open: open, isHealthy: { _, _ in false }) { $0.id }
        #expect((pool.open, pool.inUse) == (0, 0))
    }

    @Test func scopedUseHandsTheConnectionToAWaiter() async throws {
        let pool = Pool(size: 1)
        let first = try await pool.checkOutAsync(timeout: 1) { FakeConnection(id: 1) }
        let waiter = Task(executorPreference: ThreadPerJobExecutor.shared) { try await pool.withConnection(timeout: 60, open: .suspending { FakeConnection(id: 2) }) { $0.id } }
        try await eventually { pool.waiting == 1 }
        pool.checkIn(first)
        #expect(try await waiter.value == 1)
        #expect((pool.open, pool.inUse, pool.waiting) == (1, 0, 0))
    }
}

/// Waits until `condition` holds, at most 5 s. The test polls; the pool must not.
private func eventually(sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(5)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("the condition never held", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(1))
    }
}

/// Events in the order threads saw them.
/// @unchecked Sendable: `items` is only touched with `lock` held.
private final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []

    func append(_ item: Int) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }

    var all: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
