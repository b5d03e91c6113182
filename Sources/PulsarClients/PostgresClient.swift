import Foundation
import Mailbox
import NIOConcurrencyHelpers
import Postgres
import PulsarRuntime

/// PostgreSQL for app code: a bounded pool of libpq connections that waits the way
/// the execution mode asks. In thread mode a query blocks its pool thread inside
/// libpq; anywhere else it suspends on the connection's socket. The same handler
/// shows the difference on the dashboard.
///
/// Broken connections (a restarted server) are dropped and replaced on the next
/// call, so service comes back without a restart.
public final class PostgresClient: Sendable {
    public let configuration: PostgresConfiguration
    public let poolSize: Int
    public let waitTimeout: Double
    private let blockingPool: ConnectionPool<PostgresConnection>
    private let asyncPool: ConnectionPool<PostgresConnection>

    /// `url`: a `postgres://` URL, or `env` for libpq's PG* environment variables.
    public init(url: String, poolSize: Int = 10, waitTimeout: Double = 5) throws {
        configuration = url == "env" ? .fromEnvironment() : try PostgresConfiguration(url: url)
        self.poolSize = max(1, poolSize)
        self.waitTimeout = waitTimeout
        blockingPool = ConnectionPool(size: self.poolSize)
        asyncPool = ConnectionPool(size: self.poolSize)
    }

    /// The worker's own client for `--database`, made on first use and reported
    /// with every heartbeat; nil when no database is configured.
    public static func forWorker(_ context: WorkerContext) -> PostgresClient? {
        context.shared(WorkerDatabase.self) {
            let settings = context.settings
            guard let url = settings.database else { return WorkerDatabase(client: nil) }
            let size = settings.databasePool ?? (settings.mode == .thread ? settings.threadWorkers : settings.greenlets)
            guard let made = try? PostgresClient(url: url, poolSize: size, waitTimeout: 5) else { return WorkerDatabase(client: nil) }
            context.addReporter { report in
                let usage = made.usage
                report.database = DatabaseFigures(inUse: usage.inUse, size: usage.size, waiting: usage.waiting)
            }
            return WorkerDatabase(client: made)
        }.client
    }

    /// Connections in use and callers waiting for one: for the heartbeat.
    public var usage: (inUse: Int, size: Int, waiting: Int) {
        (blockingPool.inUse + asyncPool.inUse, poolSize, blockingPool.waiting + asyncPool.waiting)
    }

    /// Runs one parameterised query on a pooled connection.
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresResult {
        try await withConnection { connection, blocking in
            blocking ? try connection.queryBlocking(sql, parameters) : try await connection.query(sql, parameters)
        }
    }

    /// Runs `body` in a transaction on one connection: committed when it returns,
    /// rolled back when it throws (and the error rethrown).
    public func transaction<T: Sendable>(_ body: @Sendable (PostgresTransaction) async throws -> T) async throws -> T {
        try await withConnection { connection, blocking in
            let transaction = PostgresTransaction(connection: connection, blocking: blocking)
            _ = try await transaction.query("BEGIN")
            do {
                let value = try await body(transaction)
                _ = try await transaction.query("COMMIT")
                return value
            } catch {
                _ = try? await transaction.query("ROLLBACK")
                throw error
            }
        }
    }

    private func withConnection<T>(_ body: (PostgresConnection, Bool) async throws -> T) async throws -> T {
        let blocking = Execution.mode == .thread
        let configuration = self.configuration
        let open: ConnectionPool<PostgresConnection>.Opener = blocking
            ? .blocking { try PostgresConnection.connectBlocking(configuration) }
            : .suspending { try await PostgresConnection.connect(configuration) }
        do {
            // A failed query leaves a healthy connection usable; a broken one is replaced.
            return try await (blocking ? blockingPool : asyncPool).withConnection(
                timeout: waitTimeout, open: open, isHealthy: { connection, _ in connection.isHealthy }
            ) { connection in
                // A cancelled task (its HTTP client went away) cancels the query on the server,
                // rather than leaving it running; the connection stays usable.
                let canceller = connection.makeCanceller()
                return try await withTaskCancellationHandler {
                    try await body(connection, blocking)
                } onCancel: {
                    canceller?.cancel()
                }
            }
        } catch is ConnectionPoolTimeout {
            throw PostgresError(message: "no database connection free within \(waitTimeout)s", sqlState: nil)
        }
    }
}

/// Queries inside `PostgresClient.transaction`, on its connection.
public struct PostgresTransaction: Sendable {
    let connection: PostgresConnection
    let blocking: Bool

    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresResult {
        blocking ? try connection.queryBlocking(sql, parameters) : try await connection.query(sql, parameters)
    }
}

/// The worker's database client, or the fact that it has none, kept in its context.
private struct WorkerDatabase: Sendable {
    let client: PostgresClient?
}
