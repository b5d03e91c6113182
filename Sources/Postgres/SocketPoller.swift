#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOConcurrencyHelpers

/// Waits on sockets another library owns (libpq's), on one thread of its own with
/// poll(2).
///
/// NIO has no public API to watch a foreign descriptor. Dispatch sources did the
/// job before, but their handlers run on Dispatch's global pool: when a process
/// keeps that pool busy with blocking work, a socket that is ready is not noticed
/// until a pool thread frees up, and a connect could time out with its answer
/// waiting. This thread does nothing but wait, so a ready socket resumes its waiter
/// at once.
///
/// The thread polls a snapshot of the waiters, each with its generation. A waiter
/// leaves the table before it resumes, so its owner may close the descriptor and
/// the number may be reused at once: a readiness seen for an earlier generation of
/// the same number is never delivered to a later one.
final class SocketPoller: @unchecked Sendable {
    // @unchecked: `state` is only touched under its lock; the wake pipe's
    // descriptors are fixed and read and written whole.

    enum Event { case read, write }

    static let shared = SocketPoller()

    private struct Waiter {
        let generation: UInt32
        let continuation: CheckedContinuation<Void, Error>
        let deadline: ContinuousClock.Instant?
        let events: Int16
    }

    private struct State {
        var waiters: [Int32: Waiter] = [:]
        var nextGeneration: UInt32 = 1
        /// Generations handed out and not registered yet.
        var unregistered: Set<UInt32> = []
        /// Of those, the ones cancelled already.
        var cancelledEarly: Set<UInt32> = []
    }

    /// The poller sleeps in poll(2) on this pipe too; a byte wakes it to take a new
    /// waiter into its snapshot.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let lock = NIOLockedValueBox(State())

    private init() {
        var ends: [Int32] = [0, 0]
        precondition(pipe(&ends) == 0, "pipe failed: errno \(errno)")
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
        (wakeRead, wakeWrite) = (ends[0], ends[1])
        let thread = Thread { [self] in run() }
        thread.name = "pulse-socket-poller"
        thread.start()
    }

    /// Suspends until `fd` is ready for `event`, or throws `PostgresError` after
    /// `timeout` seconds. Only one waiter per descriptor at a time: a connection has
    /// one caller. When `cancellable`, cancelling the task ends the wait with
    /// `CancellationError`; a query's wait is not, because its caller cancels on
    /// the server and must still read the outcome off the connection.
    func wait(fd: Int32, for event: Event, timeout: Double?, cancellable: Bool = true) async throws {
        let generation = lock.withLockedValue { state in
            defer { state.nextGeneration = state.nextGeneration &+ 1 == 0 ? 1 : state.nextGeneration &+ 1 }
            state.unregistered.insert(state.nextGeneration)
            return state.nextGeneration
        }
        let deadline = timeout.map { ContinuousClock.now + .milliseconds(Int64(max(0, min($0, 86_400)) * 1000)) }
        let events = Int16(event == .read ? POLLIN : POLLOUT)
        let suspend = {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                self.register(fd: fd, waiter: Waiter(generation: generation, continuation: continuation, deadline: deadline, events: events))
            }
        }
        guard cancellable else { return try await suspend() }
        try await withTaskCancellationHandler {
            try await suspend()
        } onCancel: {
            finish(fd: fd, generation: generation, with: CancellationError(), orMarkEarly: true)
        }
    }

    private func register(fd: Int32, waiter: Waiter) {
        let refusal: Error? = lock.withLockedValue { state in
            state.unregistered.remove(waiter.generation)
            if state.cancelledEarly.remove(waiter.generation) != nil { return CancellationError() }
            guard fd >= 0 else { return PostgresError(message: "the connection has no socket", sqlState: nil) }
            guard state.waiters[fd] == nil else {
                return PostgresError(message: "socket \(fd) is already waited on", sqlState: nil)
            }
            state.waiters[fd] = waiter
            return nil
        }
        if let refusal { return waiter.continuation.resume(throwing: refusal) }
        poke()
    }

    /// Removes the waiter for `fd` if it is still `generation`'s, then resumes it.
    private func finish(fd: Int32, generation: UInt32, with error: Error?, orMarkEarly: Bool = false) {
        let waiter: Waiter? = lock.withLockedValue { state in
            guard let waiter = state.waiters[fd], waiter.generation == generation else {
                if orMarkEarly, state.unregistered.contains(generation) { state.cancelledEarly.insert(generation) }
                return nil
            }
            state.waiters[fd] = nil
            return waiter
        }
        guard let waiter else { return }
        if let error { waiter.continuation.resume(throwing: error) } else { waiter.continuation.resume() }
    }

    private func poke() {
        var one: UInt64 = 1
        _ = write(wakeWrite, &one, 8)
    }

    private func run() {
        while true {
            let (watched, timeout) = lock.withLockedValue { state -> ([(fd: Int32, generation: UInt32, events: Int16)], Int32) in
                let watched = state.waiters.map { (fd: $0.key, generation: $0.value.generation, events: $0.value.events) }
                guard let next = state.waiters.values.compactMap(\.deadline).min() else { return (watched, -1) }
                let left = next - ContinuousClock.now
                guard left > .zero else { return (watched, 0) }
                let (seconds, attoseconds) = left.components
                return (watched, Int32(min(seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1, 60_000)))
            }
            var descriptors = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
                + watched.map { pollfd(fd: $0.fd, events: $0.events, revents: 0) }
            let count = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if count < 0 {
                guard errno == EINTR else { fatalError("poll failed: errno \(errno)") }
                continue
            }
            if descriptors[0].revents != 0 {
                var drained = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &drained, drained.count) > 0 {}
            }
            // Readiness, an error or a hang-up all wake the waiter: libpq then reads
            // the socket and reports what happened.
            for (polled, waiter) in zip(descriptors.dropFirst(), watched) where polled.revents != 0 {
                finish(fd: waiter.fd, generation: waiter.generation, with: nil)
            }
            let now = ContinuousClock.now
            let expired = lock.withLockedValue { state in
                state.waiters.filter { $0.value.deadline.map { $0 <= now } ?? false }.map { ($0.key, $0.value.generation) }
            }
            for (fd, generation) in expired {
                finish(fd: fd, generation: generation, with: PostgresError(message: "timed out waiting for the database", sqlState: nil))
            }
        }
    }
}
