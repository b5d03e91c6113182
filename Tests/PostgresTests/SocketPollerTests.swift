#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import Postgres
import Testing

/// The poller that suspends libpq's callers, on a socket pair the test writes to.
@Suite(.blockingAllowed) struct SocketPollerTests {
    final class Pair: Sendable {
        let left: Int32
        let right: Int32

        init() throws {
            var ends: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0 else { throw POSIXError(.EMFILE) }
            (left, right) = (ends[0], ends[1])
        }

        deinit {
            close(left)
            close(right)
        }

        func send(_ byte: UInt8 = 1) {
            var byte = byte
            _ = write(right, &byte, 1)
        }
    }

    @Test func aReadableSocketResumesItsWaiter() async throws {
        let pair = try Pair()
        async let waited: Void = SocketPoller.shared.wait(fd: pair.left, for: .read, timeout: 10)
        try await Task.sleep(for: .milliseconds(50))
        pair.send()
        let started = ContinuousClock.now
        try await waited
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aWritableSocketResumesAtOnce() async throws {
        let pair = try Pair()
        try await SocketPoller.shared.wait(fd: pair.left, for: .write, timeout: 10)
    }

    @Test func nothingToReadTimesOut() async throws {
        let pair = try Pair()
        let started = ContinuousClock.now
        await #expect(throws: PostgresError.self) {
            try await SocketPoller.shared.wait(fd: pair.left, for: .read, timeout: 0.2)
        }
        #expect(ContinuousClock.now - started >= .milliseconds(200))
    }

    @Test func cancellingTheTaskEndsTheWaitAndFreesTheSocket() async throws {
        let pair = try Pair()
        let task = Task { try await SocketPoller.shared.wait(fd: pair.left, for: .read, timeout: nil) }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // The socket is free for the next waiter, which sees the next byte.
        async let next: Void = SocketPoller.shared.wait(fd: pair.left, for: .read, timeout: 10)
        pair.send()
        try await next
    }

    @Test func aTaskCancelledBeforeItWaitsDoesNotWait() async throws {
        let pair = try Pair()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await SocketPoller.shared.wait(fd: pair.left, for: .read, timeout: nil)
        }
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func aSecondWaiterOnTheSameSocketIsRefused() async throws {
        let pair = try Pair()
        async let first: Void = SocketPoller.shared.wait(fd: pair.left, for: .read, timeout: 10)
        try await Task.sleep(for: .milliseconds(50))
        await #expect(throws: PostgresError.self) {
            try await SocketPoller.shared.wait(fd: pair.left, for: .read, timeout: 10)
        }
        pair.send()
        try await first
    }

    /// Many waiters at once on different sockets, each woken by its own byte.
    @Test func manySocketsAreWatchedTogether() async throws {
        let pairs = try (0..<50).map { _ in try Pair() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for pair in pairs {
                group.addTask { try await SocketPoller.shared.wait(fd: pair.left, for: .read, timeout: 10) }
            }
            try await Task.sleep(for: .milliseconds(50))
            for pair in pairs.reversed() { pair.send() }
            try await group.waitForAll()
        }
    }
}
