import Foundation
import NIOCore

/// A stored value; keys and members are byte strings, as in Redis.
public enum StoreValue: Sendable {
    case string([UInt8])
    case list(CircularBuffer<[UInt8]>)
    case hash([[UInt8]: [UInt8]])
    case set(Set<[UInt8]>)

    var typeName: String {
        switch self {
        case .string: "string"
        case .list: "list"
        case .hash: "hash"
        case .set: "set"
        }
    }
}

/// One of the 16 numbered databases: values and their expiry times (ms since 1970).
public final class Database {
    var values: [[UInt8]: StoreValue] = [:]
    var expires: [[UInt8]: Int64] = [:]

    /// The live value of `key`, forgetting it first when it has expired.
    func get(_ key: [UInt8], now: Int64) -> StoreValue? {
        if let deadline = expires[key], deadline <= now {
            values.removeValue(forKey: key)
            expires.removeValue(forKey: key)
            return nil
        }
        return values[key]
    }

    func set(_ key: [UInt8], _ value: StoreValue, keepTTL: Bool = false) {
        values[key] = value
        if !keepTTL { expires.removeValue(forKey: key) }
    }

    @discardableResult
    func delete(_ key: [UInt8]) -> Bool {
        expires.removeValue(forKey: key)
        return values.removeValue(forKey: key) != nil
    }

    /// Live keys, in no particular order.
    func keys(now: Int64) -> [[UInt8]] {
        values.keys.filter { key in expires[key].map { $0 > now } ?? true }
    }

    /// Forgets up to `limit` expired keys (the periodic sweep that bounds memory).
    func sweep(now: Int64, limit: Int) -> Int {
        var removed = 0
        for (key, deadline) in expires where deadline <= now {
            values.removeValue(forKey: key)
            expires.removeValue(forKey: key)
            removed += 1
            if removed >= limit { break }
        }
        return removed
    }
}

/// The whole keyspace and the pub/sub hub of one data store process. Confined
/// to its event loop, like Redis's single thread: commands run one at a time.
public final class Store {
    public static let databaseCount = 16
    let databases: [Database] = (0..<Store.databaseCount).map { _ in Database() }
    let pubsub = PubSubHub()
    /// Writes since start, for INFO and save rules.
    var changes = 0
    public internal(set) var commandsProcessed = 0
    public internal(set) var connections = 0
    var lastClientID = 0
    public var channelCount: Int { pubsub.channels.count + pubsub.patterns.count }
    public var subscriberCount: Int { pubsub.subscriptionCount }
    let startedAt = Date()
    public var password: String?

    public init(password: String? = nil) { self.password = password }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    public var keyCount: Int { databases.reduce(0) { $0 + $1.values.count } }

    /// Expired keys are forgotten when touched, and here a little at a time.
    public func sweepExpired() {
        let now = Self.now()
        for database in databases where !database.expires.isEmpty { _ = database.sweep(now: now, limit: 200) }
    }
}
