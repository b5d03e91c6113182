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
///
/// It survives the store restarting: pooled connections the store closed are
/// replaced before use; a call while the store is down fails at once, or after
/// `replyTimeout` when the store accepts but does not answer, with an error whose
/// `kind` says so; `follow(channels:patterns:)` resubscribes by itself. Whether the
/// store was reachable on the last attempt is `isAvailable`, and
/// `availabilityChanges()` tells when that changes.
public final class DataStoreClient: Sendable {
    public let host: String
    public let port: Int
    public let database: Int
    public let password: String?
    public let poolSize: Int
    public let waitTimeout: Double
    /// Seconds a call waits for the store's reply (and for a connection to open).
    public let replyTimeout: Double
    let group: EventLoopGroup
    private let blockingPool: ConnectionPool<BlockingRESPConnection>
    private let asyncPool: ConnectionPool<AsyncRESPConnection>
    let availability = Availability()

    /// `url`: `redis://[:password@]HOST:PORT/DB` or `pulsar://HOST:PORT/DB`; `password`,
    /// when given, is used rather than the URL's.
    public init(url: String, poolSize: Int = 10, waitTimeout: Double = 5, replyTimeout: Double = 3,
                password: String? = nil,
                group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws(DataStoreClientError) {
        guard let components = URLComponents(string: url), ["redis", "pulsar"].contains(components.scheme ?? ""),
              let host = components.host else { throw DataStoreClientError("not a data store URL: \(url)", kind: .usage) }
        self.host = host
        port = components.port ?? (components.scheme == "redis" ? 6379 : 6410)
        database = Int(components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))) ?? 0
        self.password = password ?? components.password ?? components.user.flatMap { $0.isEmpty ? nil : $0 }
        self.poolSize = max(1, poolSize)
        self.waitTimeout = waitTimeout
        self.replyTimeout = min(max(0.05, replyTimeout), 3600)
        self.group = group
        blockingPool = ConnectionPool(size: self.poolSize)
        asyncPool = ConnectionPool(size: self.poolSize)
    }

    /// The worker's client of its data store (`--data-store`), made on first use;
    /// whether the store is reachable goes into every heartbeat.
    public static func forWorker(_ context: WorkerContext, poolSize: Int = 8) throws(DataStoreClientError) -> DataStoreClient {
        do {
            return try context.shared(DataStoreClient.self) {
                guard let url = context.dataStoreURL else { throw DataStoreClientError("no data store configured", kind: .usage) }
                let client = try DataStoreClient(url: url, poolSize: poolSize, password: context.settings.dataStorePassword)
                context.addReporter { report in report.dataStoreReachable = client.isAvailable }
                return client
            }
        } catch let error as DataStoreClientError {
            throw error
        } catch {
            throw DataStoreClientError("\(error)", kind: .usage)
        }
    }

    /// False since a call or a subscription found the store unreachable, until one succeeds.
    public var isAvailable: Bool { availability.isUp }

    /// Each change of `isAvailable`, as it happens.
    public func availabilityChanges() -> AsyncStream<Bool> { availability.changes() }

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
            let timeout = replyTimeout(for: words)
            if Execution.mode == .thread {
                let open = ConnectionPool<BlockingRESPConnection>.Opener.blocking { try self.openBlocking() }
                reply = try await blockingPool.withConnection(timeout: waitTimeout, open: open, isUsable: \.isUsable) {
                    try $0.send(.command(words), timeout: timeout)
                }
            } else {
                let open = ConnectionPool<AsyncRESPConnection>.Opener.suspending { try await self.openAsync() }
                reply = try await asyncPool.withConnection(timeout: waitTimeout, open: open, isUsable: \.isUsable) {
                    try await $0.send(.command(words), timeout: timeout)
                }
            }
        } catch is ConnectionPoolTimeout {
            throw DataStoreClientError("no data store connection free within \(waitTimeout)s", kind: .poolExhausted)
        } catch let error as DataStoreClientError {
            if error.isUnavailable { availability.set(false) }
            throw error
        }
        availability.set(true)
        if case .error(let message) = reply { throw DataStoreClientError(message) }
        return reply
    }

    /// A blocking command waits as long as it asks (its last argument, in seconds; 0
    /// for ever) plus the usual reply timeout; other commands keep `replyTimeout`.
    private func replyTimeout(for words: [[UInt8]]) -> Double?? {
        let name = String(decoding: words.first ?? [], as: UTF8.self).uppercased()
        guard ["BLPOP", "BRPOP", "BRPOPLPUSH", "BZPOPMIN", "BZPOPMAX"].contains(name), words.count > 1,
              let seconds = Double(String(decoding: words[words.count - 1], as: UTF8.self)), seconds.isFinite, seconds >= 0 else {
            return .none
        }
        return .some(seconds == 0 ? nil : seconds + replyTimeout)
    }

    public func get(_ key: String) async throws -> String? { try await send("GET", key).string }
    public func set(_ key: String, _ value: String) async throws { try await send("SET", key, value) }
    @discardableResult public func publish(_ channel: String, _ message: String) async throws -> Int {
        if case .integer(let count) = try await send("PUBLISH", channel, message) { return count }
        return 0
    }

    /// Subscribes on a connection of its own; messages arrive until the stream is
    /// dropped, or end with an error when the connection breaks. For a subscription
    /// that outlives restarts of the store, use `follow(channels:patterns:)`.
    public func subscribe(to channels: [String], patterns: [String] = []) async throws -> DataStoreSubscription {
        let connection = try await openAsync()
        do {
            let stream = try await connection.subscribe(channels: channels, patterns: patterns)
            return DataStoreSubscription(stream: stream, connection: connection)
        } catch {
            connection.close()
            throw error
        }
    }

    private func openBlocking() throws(DataStoreClientError) -> BlockingRESPConnection {
        let connection = try BlockingRESPConnection(host: host, port: port, timeout: replyTimeout)
        for words in setupCommands() {
            if case .error(let message) = try connection.send(.command(words)) { throw DataStoreClientError(message) }
        }
        return connection
    }

    func openAsync() async throws -> AsyncRESPConnection {
        let connection = try await AsyncRESPConnection.connect(host: host, port: port, group: group, replyTimeout: replyTimeout)
        for words in setupCommands() {
            if case .error(let message) = try await connection.send(.command(words)) {
                connection.close()
                throw DataStoreClientError(message)
            }
        }
        return connection
    }

    private func setupCommands() -> [[[UInt8]]] {
        var commands: [[[UInt8]]] = []
        if let password { commands.append([Array("AUTH".utf8), Array(password.utf8)]) }
        if database != 0 { commands.append([Array("SELECT".utf8), Array(String(database).utf8)]) }
        return commands
    }
}

extension DataStoreClient {
    /// Whether the store answered the last attempt, and who wants to hear of changes.
    final class Availability: Sendable {
        private struct State {
            var up = true
            var listeners: [Int: AsyncStream<Bool>.Continuation] = [:]
            var nextListener = 0
        }
        private let state = NIOLockedValueBox(State())

        var isUp: Bool { state.withLockedValue { $0.up } }

        func set(_ up: Bool) {
            let listeners = state.withLockedValue { state -> [AsyncStream<Bool>.Continuation] in
                guard state.up != up else { return [] }
                state.up = up
                return Array(state.listeners.values)
            }
            for listener in listeners { listener.yield(up) }
        }

        func changes() -> AsyncStream<Bool> {
            let (stream, continuation) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingNewest(16))
            let id = state.withLockedValue { state in
                defer { state.nextListener += 1 }
                state.listeners[state.nextListener] = continuation
                return state.nextListener
            }
            continuation.onTermination = { [weak self] _ in self?.state.withLockedValue { _ = $0.listeners.removeValue(forKey: id) } }
            return stream
        }
    }
}

extension TimeAmount {
    /// Seconds as configured, clamped to what NIO can hold.
    static func fromSeconds(_ seconds: Double) -> TimeAmount {
        .nanoseconds(Int64(min(max(0, seconds), 1e6) * 1e9))
    }
}
