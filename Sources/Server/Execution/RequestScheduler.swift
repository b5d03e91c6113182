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
    typealias Job = @Sendable () async -> LoopFollowUp?

    // Unchecked exclusivity on the state touched per request: confined to the loop,
    // and no access overlaps another (each is a read or a single mutation).
    @exclusivity(unchecked) private(set) var mode: ExecutionMode
    let threadCount: Int
    let greenCount: Int
    let maxQueue: Int
    private let loop: EventLoop
    private let threadPool: ThreadPool
    /// Where cooperative requests, and WebSocket callbacks, run.
    let loopExecutor: EventLoopTaskExecutor
    @exclusivity(unchecked) private var idleThreads: [Int]
    @exclusivity(unchecked) private(set) var busyGreen = 0
    @exclusivity(unchecked) private var queue = CircularBuffer<(job: Job, token: RequestToken?)>()
    /// Cooperative requests running synchronously inside `submit` right now: a
    /// pipelined request answered inside another's response nests one level deeper.
    @exclusivity(unchecked) private var immediateDepth = 0
    /// Beyond this many nested, a request's task starts on the loop's next turn, so
    /// a long run of pipelined requests cannot grow the stack without bound.
    static let maxImmediateDepth = 8

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
        startQueued(immediately: true)
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

    /// Starts what the free slots allow, oldest first. A cooperative request whose
    /// slot is free when it arrives (`immediately`) runs at once, on the loop, until
    /// it first suspends: no hop through the loop's queue before the handler runs.
    /// A slot given back starts the next request on the loop's next turn instead.
    private func startQueued(immediately: Bool = false) {
        let bound = NIOLoopBound(self, eventLoop: loop)
        while !queue.isEmpty, hasFreeSlot {
            let (job, token) = queue.removeFirst()
            switch mode {
            case .thread:
                let index = idleThreads.removeLast()
                let thread = threadPool.threads[index]
                threadPool.run(on: index, token: token) { [loop] in
                    let followUp = await Execution.$mode.withValue(.thread) {
                        await Execution.$executor.withValue(thread) { await job() }
                    }
                    // One hop back: the response is written, then the thread is free.
                    loop.execute {
                        followUp?()
                        bound.value.threadFinished(index)
                    }
                }
            case .cooperative:
                busyGreen += 1
                let executor = loopExecutor
                let run: @Sendable () async -> Void = { [loop] in
                    let followUp = await Execution.$mode.withValue(.cooperative) {
                        await Execution.$executor.withValue(executor) { await job() }
                    }
                    // The task prefers the loop's executor, so it ends on the loop.
                    if loop.inEventLoop {
                        followUp?()
                        bound.value.greenFinished()
                    } else {
                        loop.execute {
                            followUp?()
                            bound.value.greenFinished()
                        }
                    }
                }
                let task = startGreen(run, immediately: immediately)
                token?.attach(task)
            }
        }
    }

    private func startGreen(_ run: @escaping @Sendable () async -> Void, immediately: Bool) -> Task<Void, Never> {
        #if compiler(>=6.2)   // Task.immediate (SE-0472); the package's tools version is 6.1
        if immediately, immediateDepth < Self.maxImmediateDepth, #available(macOS 26, *) {
            immediateDepth += 1
            defer { immediateDepth -= 1 }
            return Task.immediate(executorPreference: loopExecutor, operation: run)
        }
        #endif
        return Task(executorPreference: loopExecutor, operation: run)
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
    /// Runs `work` on thread `index`, its task cancellable through `token`. The
    /// task is made here and its first job goes straight to the thread's inbox:
    /// one hand-over per request, not a closure posted to make the task there.
    func run(on index: Int, token: RequestToken?, _ work: @escaping @Sendable () async -> Void) {
        let task = Task(executorPreference: threads[index]) { await work() }
        token?.attach(task)
    }
}
