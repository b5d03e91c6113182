import CPulseSystem
import Foundation

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
    private var inbox: [() -> Void] = []
    private let name: String

    init(name: String) { self.name = name }

    func start() {
        let thread = Thread { [self] in
            pulse_set_thread_name(name)
            while true {
                condition.lock()
                while inbox.isEmpty { condition.wait() }
                let item = inbox.removeFirst()
                condition.unlock()
                item()
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    func post(_ item: @escaping () -> Void) {
        condition.lock()
        inbox.append(item)
        condition.signal()
        condition.unlock()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        post { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
