import CPulseSystem
import Foundation
import NIOCore

/// A bounded pool of OS threads, each running one request at a time: the thread
/// mode. A request's task prefers its thread's executor, so all of its code runs
/// there and a blocking call occupies that one thread only.
final class ThreadPool: Sendable {
    let threads: [PoolThread]

    init(size: Int, name: String) {
        threads = (0..<size).map { PoolThread(name: "\(name)-\($0)") }
        threads.forEach { $0.start() }
    }

}

/// One thread of the pool and the task executor that runs jobs on it.
// @unchecked: `inbox` is only touched with `condition` locked.
final class PoolThread: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    /// Jobs themselves, not closures around them: no allocation per hand-over.
    /// Unchecked exclusivity: the lock already makes each access exclusive.
    @exclusivity(unchecked) private var inbox = CircularBuffer<UnownedJob>(initialCapacity: 4)
    private let name: String

    init(name: String) { self.name = name }

    func start() {
        let thread = Thread { [self] in
            pulse_set_thread_name(name)
            let executor = asUnownedTaskExecutor()
            while true {
                condition.lock()
                while inbox.isEmpty { condition.wait() }
                let job = inbox.removeFirst()
                condition.unlock()
                job.runSynchronously(on: executor)
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        inbox.append(job)
        condition.unlock()
        // Signalled after the unlock: a thread woken while the lock is still held
        // would only block on it again (one more futex call each way).
        condition.signal()
    }
}
