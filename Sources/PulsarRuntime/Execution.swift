import Foundation
import Glibc
import Mailbox

/// The execution mode of the code running now, and waiting primitives that honour it.
///
/// The rule for app authors: in cooperative mode, blocking the event loop is a bug
/// (every request of the worker waits, and the loop-lag figure shows it); use these
/// primitives, or the project's clients, which suspend there and block only their
/// own thread in thread mode.
public enum Execution {
    /// The mode of the request being handled; nil outside a request.
    @TaskLocal public static var mode: ExecutionMode?

    /// Where the request being handled runs: its pool thread in thread mode, the
    /// event loop in cooperative mode; nil outside a request.
    @TaskLocal public static var executor: (any TaskExecutor)?

    /// Runs `body` where the current request runs. A task created with `Task {}`
    /// keeps the request's task-locals but not its executor: a framework that runs
    /// each handler in a task of its own (Vapor does) calls its handlers through this,
    /// so a blocking handler blocks its pool thread and nothing else.
    public static func onRequestExecutor<Value>(_ body: () async throws -> Value) async rethrows -> Value {
        try await withTaskExecutorPreference(executor, operation: body)
    }

    /// Waits `milliseconds`: suspends in cooperative mode, blocks the pool thread in
    /// thread mode, so the same handler shows the difference between the pools.
    public static func sleep(milliseconds: Int) async throws {
        if mode == .thread {
            let milliseconds = max(0, milliseconds)
            var time = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
            var left = timespec()
            while nanosleep(&time, &left) != 0 && errno == EINTR { time = left }
        } else {
            try await Task.sleep(for: .milliseconds(milliseconds))
        }
    }

    /// Keeps the CPU busy for `milliseconds` (for demonstrations and benchmarks).
    public static func spin(milliseconds: Int) {
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, milliseconds)) * 1_000_000
        var x: UInt64 = 0
        while DispatchTime.now().uptimeNanoseconds < end {
            for i in 0..<1000 { x = x &+ UInt64(i) &* 2654435761 }
        }
        withExtendedLifetime(x) {}
    }
}
