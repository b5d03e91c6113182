import NIOCore

/// Runs a task's jobs on a NIO event loop: the cooperative pool. Tasks preferring
/// this executor interleave with the loop's I/O, one job at a time.
final class EventLoopTaskExecutor: TaskExecutor, Sendable {
    let loop: EventLoop

    init(loop: EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
