import Foundation
import TestSupport
import Testing

/// The trait the integration suites use: their tests block threads, and must not
/// starve each other of the two threads Swift's own pool has here.
@Suite(.blockingAllowed) struct BlockingAllowedTests {
    /// Eight jobs that each block until all eight block at once: only possible
    /// when each has a thread of its own.
    @Test func eightBlockedJobsRunAtOnce() async throws {
        let barrier = Barrier(parties: 8)
        let met = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 { group.addTask { barrier.arriveAndWait(timeout: 10) } }
            return try await group.reduce(true) { $0 && $1 }
        }
        #expect(met, "the jobs did not all get a thread")
    }
}

/// Blocks each caller until `parties` callers wait together, or the timeout passes.
private final class Barrier: @unchecked Sendable {
    // @unchecked: `arrived` is only touched under `condition`.
    private let condition = NSCondition()
    private let parties: Int
    private var arrived = 0

    init(parties: Int) { self.parties = parties }

    func arriveAndWait(timeout: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while arrived < parties { if !condition.wait(until: deadline) { return false } }
        return true
    }
}
