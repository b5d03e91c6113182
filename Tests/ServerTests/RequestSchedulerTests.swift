import Mailbox
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TestSupport
import Testing
@testable import Server

/// The scheduler's slots taken at once (a hosted server's fast path) against its
/// queue: nobody overtakes a queued request, and a slot given back starts the next.
/// On a real event loop, since the pool threads report back to it.
@Suite(.blockingAllowed) struct RequestSchedulerTests {
    /// Runs `body` on a loop of its own with a scheduler of `threads` slots, then
    /// `afterwards` off the loop while it still runs.
    func onLoop(threads: Int, mode: ExecutionMode,
                _ body: @escaping @Sendable (RequestScheduler) throws -> Void,
                afterwards: (NIOLoopBound<RequestScheduler>) throws -> Void = { _ in }) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        var settings = WorkerSettings()
        settings.threadWorkers = threads
        settings.greenlets = threads
        settings.mode = mode
        let scheduler = try loop.submit { [settings] in
            NIOLoopBound(RequestScheduler(settings: settings, loop: loop, name: "test"), eventLoop: loop)
        }.wait()
        try loop.submit { try body(scheduler.value) }.wait()
        try afterwards(scheduler)
    }

    @Test(arguments: [ExecutionMode.thread, .cooperative])
    func slotsTakenAtOnceNeverOvertakeTheQueue(mode: ExecutionMode) throws {
        let ran = NIOLockedValueBox(0)
        try onLoop(threads: 1, mode: mode, { scheduler in
            guard let first = scheduler.acquireNow() else { Issue.record("no free slot"); return }
            #expect(first.mode == mode)
            #expect(scheduler.acquireNow().map { $0.mode } == nil)   // the only slot is taken
            #expect(scheduler.submit(token: nil) {
                ran.withLockedValue { $0 += 1 }
                return nil
            })
            #expect(scheduler.queued == 1)
            scheduler.release(first)
            // The queued request took the slot back at once: nothing may jump ahead of it.
            #expect(scheduler.queued == 0)
            #expect(scheduler.acquireNow().map { $0.mode } == nil)
        }, afterwards: { bound in
            let busy = { try bound.eventLoop.submit { bound.value.busyThreads + bound.value.busyGreen }.wait() }
            for _ in 0..<400 where try busy() > 0 { usleep(5_000) }
            #expect(ran.withLockedValue { $0 } == 1)
            #expect(try busy() == 0)   // its end gave the slot back
        })
    }

    @Test func aSlotGivenBackAfterAModeSwitchReturnsToItsOwnPool() throws {
        try onLoop(threads: 2, mode: .thread) { scheduler in
            let thread = scheduler.acquireNow()
            scheduler.setMode(.cooperative)
            let green = scheduler.acquireNow()
            #expect(thread?.mode == .thread && green?.mode == .cooperative)
            #expect(scheduler.busyThreads == 1 && scheduler.busyGreen == 1)
            if let thread { scheduler.release(thread) }
            if let green { scheduler.release(green) }
            #expect(scheduler.busyThreads == 0 && scheduler.busyGreen == 0)
        }
    }
}
