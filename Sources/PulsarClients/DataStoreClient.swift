import DataStore
import Foundation
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PulsarRuntime

/// A client of the data store, embedded or a real Redis: the same API either way.
///
/// It follows the project's rule for waiting: in thread mode a call blocks its
/// pool thread on a plain socket; anywhere else (cooperative mode, or outside a
/// request) it suspends on a NIO connection. Each kind has its own pool of
/// connections, `poolSize` at most, with callers beyond that waiting in line up
/// to `waitTimeout` seconds.
public final class DataStoreClient: Sendable {
    public let host: String
    public let port: Int
    public let database: Int
    public let password: String?
    public let poolSize: Int
    public let waitTimeout: Double
    private let group: EventLoopGroup
    private let blockingPool: ConnectionPool<BlockingRESPConnection>
    private let asyncPool: ConnectionPool<AsyncRESPConnection>

    /// `url`: `redis://[:password@]HOST:PORT/DB` or `pulsar://HOST:PORT/DB`.
    public init(url: String, poolSize: Int = 10, waitTimeout: Double = 5,
                group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws(DataStoreClientError) {
        guard let components = URLComponents(string: url), ["redis", "pulsar"].contains(components.scheme ?? ""),
              let host = components.host else { throw DataStoreClientError("not a data store URL: \(url)") }
        self.host = host
        port = components.port ?? (components.scheme == "redis" ? 6379 : 6410)
        database = Int(components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))) ?? 0
        password = components.password ?? components.user.flatMap { $0.isEmpty ? nil : $0 }
        self.poolSize = max(1, poolSize)
        self.waitTimeout = waitTimeout
        self.group = group
        blockingPool = ConnectionPool(size: self.poolSize)
        asyncPool = ConnectionPool(size: self.poolSize)
    }

    /// Sends one command; an error reply is thrown as `DataStoreClientError`.
    @discardableResult
    public func send(_ words: String...) async throws -> RESPValue {
        try await send(words.map { Array($0.utf8) })
    }

    @discardableResult
    public func send(_ words: [[UInt8]]) async throws -> RESPValue {
        let reply: RESPValue
        do {
            // A connection that threw is dropped (the default health check): its reply
            // stream may be out of step. An error reply leaves it usable.
            if Execution.mode == .thread {
                let open = ConnectionPool<BlockingRESPConnection>.Opener.blocking { try self.openBlocking() }
                reply = try await blockingPool.withConnection(timeout: waitTimeout, open: open) { try $0.send(.command(words)) }
            } else {
                let open = ConnectionPool<AsyncRESPConnection>.Opener.suspending { try await self.openAsync() }
                reply = try await asyncPool.withConnection(timeout: waitTimeout, open: open) { try await $0.send(.command(words)) }
            }
        } catch is ConnectionPoolTimeout {
            throw DataStoreClientError("no data store connection free within \(waitTimeout)s")
        }
        if case .error(let message) = reply { throw DataStoreClientError(message) }
        return reply
    }

    public func get(_ key: String) async throws -> String? { try await send("GET", key).string }
    public func set(_ key: String, _ value: String) async throws { try await send("SET", key, value) }
    @discardableResult public func publish(_ channel: String, _ message: String) async throws -> Int {
        if case .integer(let count) = try await send("PUBLISH", channel, message) { return count }
        return 0
    }

    /// Subscribes on a connection of its own; messages arrive until the stream is dropped.
    public func subscribe(to channels: [String]) async throws -> DataStoreSubscription {
        let connection = try await openAsync()
        return try await connection.subscribe(channels)
    }

    private func openBlocking() throws(DataStoreClientError) -> BlockingRESPConnection {
        let connection = try BlockingRESPConnection(host: host, port: port)
        try prepare { (words) throws(DataStoreClientError) in try connection.send(.command(words)) }
        return connection
    }

    private func openAsync() async throws -> AsyncRESPConnection {
        let connection = try await AsyncRESPConnection.connect(host: host, port: port, group: group)
        for words in setupCommands() {
            if case .error(let message) = try await connection.send(.command(words)) { throw DataStoreClientError(message) }
        }
        return connection
    }

    private func prepare(_ send: ([[UInt8]]) throws(DataStoreClientError) -> RESPValue) throws(DataStoreClientError) {
        for words in setupCommands() {
            if case .error(let message) = try send(words) { throw DataStoreClientError(message) }
        }
    }

    private func setupCommands() -> [[[UInt8]]] {
        var commands: [[[UInt8]]] = []
        if let password { commands.append([Array("AUTH".utf8), Array(password.utf8)]) }
        if database != 0 { commands.append([Array("SELECT".utf8), Array(String(database).utf8)]) }
        return commands
    }
}

public struct DataStoreClientError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
