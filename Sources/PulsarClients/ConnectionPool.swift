import Foundation
import NIOConcurrencyHelpers

/// A bounded pool: idle connections are reused, new ones opened up to the size,
/// callers beyond it wait (blocking or suspending) for a connection to come back.
/// Suspended waiters poll every 5 ms: simple, and cheap at a pool's sizes.
final class ConnectionPool<Connection: Sendable>: Sendable {
    private struct State {
        var idle: [Connection] = []
        var open = 0
    }
    private let state = NIOLockedValueBox(State())
    private let condition = NSCondition()
    let size: Int

    init(size: Int) { self.size = size }

    private func reserve() -> (Connection?, mayOpen: Bool) {
        state.withLockedValue { state in
            if let connection = state.idle.popLast() { return (connection, false) }
            guard state.open < size else { return (nil, false) }
            state.open += 1
            return (nil, true)
        }
    }

    func checkOut(timeout: Double, open: () throws -> Connection) throws -> Connection {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let (connection, mayOpen) = reserve()
            if let connection { return connection }
            if mayOpen {
                do { return try open() } catch {
                    state.withLockedValue { $0.open -= 1 }
                    throw error
                }
            }
            condition.lock()
            let signalled = condition.wait(until: min(deadline, Date().addingTimeInterval(0.05)))
            condition.unlock()
            if !signalled, Date() >= deadline { throw ConnectionPoolTimeout(seconds: timeout) }
        }
    }

    func checkOutAsync(timeout: Double, open: () async throws -> Connection) async throws -> Connection {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let (connection, mayOpen) = reserve()
            if let connection { return connection }
            if mayOpen {
                do { return try await open() } catch {
                    state.withLockedValue { $0.open -= 1 }
                    throw error
                }
            }
            guard Date() < deadline else { throw ConnectionPoolTimeout(seconds: timeout) }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Connections handed out and not yet back.
    var inUse: Int { state.withLockedValue { $0.open - $0.idle.count } }

    func checkIn(_ connection: Connection) {
        state.withLockedValue { $0.idle.append(connection) }
        condition.broadcast()
    }

    func discard(_ connection: Connection) {
        state.withLockedValue { $0.open -= 1 }
        condition.broadcast()
    }
}

/// No connection came back to the pool in time; each client reports it in its own words.
struct ConnectionPoolTimeout: Error {
    let seconds: Double
}
