import Mailbox
import NIOCore
import PulsarRuntime

/// Decides where and when each request's handler runs: on a free pool thread
/// (thread mode) or as a task on the event loop (cooperative mode), at most the
/// pool's size at once, the rest waiting in a FIFO queue of bounded length.
///
/// Confined to the worker's event loop (the pools' threads come back to it through a
/// `NIOLoopBound`). A mode switch applies to requests that start after it; those
/// running finish where they are.
final class RequestScheduler: RequestRunner {
    typealias Job = @Sendable () async -> Void

    private(set) var mode: ExecutionMode
    let threadCount: Int
    let greenCount: Int
    let maxQueue: Int
    private let loop: EventLoop
    private let threadPool: ThreadPool
    /// Where cooperative requests, and WebSocket callbacks, run.
    let loopExecutor: EventLoopTaskExecutor
    private var idleThreads: [Int]
    private(set) var busyGreen = 0
    private var queue = CircularBuffer<(job: Job, token: RequestToken?)>()

    init(settings: WorkerSettings, loop: EventLoop, name: String) {
        mode = settings.mode
        threadCount = max(1, settings.threadWorkers)
        greenCount = max(1, settings.greenlets)
        maxQueue = max(0, settings.maxQueue)
        self.loop = loop
        threadPool = ThreadPool(size: threadCount, name: "pulse-\(name)")
        loopExecutor = EventLoopTaskExecutor(loop: loop)
        idleThreads = Array((0..<threadCount).reversed())
    }

    var busyThreads: Int { threadCount - idleThreads.count }
    var queued: Int { queue.count }

    /// Queues `job` and starts what capacity allows. False when the queue is full:
    /// the caller answers 503 rather than dropping the request silently.
    func submit(token: RequestToken? = nil, _ job: @escaping Job) -> Bool {
        loop.preconditionInEventLoop()
        guard queue.count < maxQueue || hasFreeSlot else { return false }
        queue.append((job, token))
        startQueued()
        return true
    }

    func acquireNow() -> ExecutionSlot? {
        loop.preconditionInEventLoop()
        guard queue.isEmpty, hasFreeSlot else { return nil }
        switch mode {
        case .thread:
            let index = idleThreads.removeLast()
            return ExecutionSlot(kind: .thread(index), mode: .thread, executor: threadPool.threads[index])
        case .cooperative:
            busyGreen += 1
            return ExecutionSlot(kind: .green, mode: .cooperative, executor: loopExecutor)
        }
    }

    func release(_ slot: ExecutionSlot) {
        switch slot.kind {
        case .thread(let index): threadFinished(index)
        case .green: greenFinished()
        }
    }

    func setMode(_ newMode: ExecutionMode) {
        mode = newMode
        startQueued()
    }

    private var hasFreeSlot: Bool {
        switch mode {
        case .thread: !idleThreads.isEmpty
        case .cooperative: busyGreen < greenCount
        }
    }

    private func startQueued() {
        let bound = NIOLoopBound(self, eventLoop: loop)
        while !queue.isEmpty, hasFreeSlot {
            let (job, token) = queue.removeFirst()
            switch mode {
            case .thread:
                let index = idleThreads.removeLast()
                let thread = threadPool.threads[index]
                threadPool.run(on: index, token: token) { [loop] in
                    await Execution.$mode.withValue(.thread) {
                        await Execution.$executor.withValue(thread) { await job() }
                    }
                    loop.execute { bound.value.threadFinished(index) }
                }
            case .cooperative:
                busyGreen += 1
                let executor = loopExecutor
                let task = Task(executorPreference: loopExecutor) { [loop] in
                    await Execution.$mode.withValue(.cooperative) {
                        await Execution.$executor.withValue(executor) { await job() }
                    }
                    loop.execute { bound.value.greenFinished() }
                }
                token?.attach(task)
            }
        }
    }

    private func threadFinished(_ index: Int) {
        idleThreads.append(index)
        startQueued()
    }

    private func greenFinished() {
        busyGreen -= 1
        startQueued()
    }
}

extension ThreadPool {
    /// Runs `work` on thread `index`, its task cancellable through `token`.
    func run(on index: Int, token: RequestToken?, _ work: @escaping @Sendable () async -> Void) {
        let thread = threads[index]
        thread.post {
            let task = Task(executorPreference: thread) { await work() }
            token?.attach(task)
        }
    }
}
