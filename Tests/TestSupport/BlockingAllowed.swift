import Foundation
import Testing

/// Runs a suite's tests on threads that may block.
///
/// Swift's global executor on Linux is a cooperative pool as wide as the machine:
/// two threads here. A test that blocks one (a synchronous socket read, waitpid,
/// a control request) halves the speed of every other test in the process, and two
/// such tests stop them all: a continuation resumed by a ready socket then waits
/// seconds for a thread, and a test times out on an answer that had arrived. The
/// integration tests block by design (they act as plain clients), so their suites
/// prefer this executor, which gives each running job a thread.
public struct BlockingAllowed: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
    }
}

extension Trait where Self == BlockingAllowed {
    /// The suite's tests may block their thread without slowing the others.
    public static var blockingAllowed: Self { BlockingAllowed() }
}

/// A task executor that starts a thread whenever a job would otherwise wait for
/// one. Threads stay for the next jobs; the pool only grows, which suits a test
/// process.
public final class ThreadPerJobExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: every field is touched under `condition`.
    public static let shared = ThreadPerJobExecutor()

    private let condition = NSCondition()
    private var queue: [UnownedJob] = []
    private var head = 0
    private var idle = 0

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        queue.append(job)
        // Waiting threads that were signalled still count as idle until they take
        // a job, so a job beyond their number needs a new thread.
        if queue.count - head > idle {
            Thread.detachNewThread { [self] in work() }
        }
        condition.signal()
        condition.unlock()
    }

    private func work() {
        condition.lock()
        while true {
            idle += 1
            while head == queue.count { condition.wait() }
            idle -= 1
            let job = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
            condition.lock()
        }
    }
}
