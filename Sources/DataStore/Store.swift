import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// One of the 16 numbered databases: values and their expiry times (ms since 1970).
public final class Database {
    @exclusivity(unchecked) var values: [StoreKey: StoreValue] = [:]
    @exclusivity(unchecked) private(set) var expires: [StoreKey: Int64] = [:]
    /// How many clients WATCH each key, and how often a watched key changed since it
    /// was first watched: what EXEC compares. Only watched keys are counted, so a
    /// store that sees millions of keys keeps nothing for them.
    @exclusivity(unchecked) private var watchers: [StoreKey: Int] = [:]
    @exclusivity(unchecked) private var versions: [StoreKey: Int] = [:]
    /// Keys forgotten because their time was up (INFO's expired_keys).
    @exclusivity(unchecked) var expired = 0

    /// Starts watching `key`; its version now.
    func watch(_ key: [UInt8]) -> Int {
        watchers[StoreKey(key), default: 0] += 1
        return versions[key] ?? 0
    }

    func unwatch(_ key: [UInt8]) {
        guard let count = watchers[key] else { return }
        if count > 1 {
            watchers[key] = count - 1
        } else {
            watchers[key] = nil
            versions[key] = nil
        }
    }

    func version(of key: [UInt8]) -> Int { versions[key] ?? 0 }

    private func touch(_ key: [UInt8]) {
        // An empty dictionary is checked first: it costs no hashing of the key.
        if !watchers.isEmpty, watchers[key] != nil { versions[StoreKey(key), default: 0] += 1 }
    }

    /// Sets or clears the expiry time of a key (ms since 1970).
    func setExpiry(_ key: [UInt8], _ deadline: Int64?) {
        expires[key] = deadline
        touch(key)
    }

    /// SWAPDB: the two trade keys and expiry times; a watched key of either changed if
    /// it is in one of them (Redis 7.0's touchAllWatchedKeysInDb).
    func swapContents(with other: Database) {
        swap(&values, &other.values)
        swap(&expires, &other.expires)
        for key in watchers.keys where values[key] != nil || other.values[key] != nil { touch(key.bytes) }
        for key in other.watchers.keys where values[key] != nil || other.values[key] != nil { other.touch(key.bytes) }
    }

    /// FLUSHDB: a watched key that existed has changed; one that did not, has not (Redis 7).
    func flush() {
        for key in watchers.keys where values[key] != nil { touch(key.bytes) }
        // Its XREADGROUP waiters fail with UNBLOCKED, as a deleted stream's do (Redis 7.0).
        for (key, value) in values where value.isStream { keyReady?(key.bytes) }
        values.removeAll()
        expires.removeAll()
    }

    var hasExpiries: Bool { !expires.isEmpty }

    /// The live value of `key`, forgetting it first when it has expired.
    func get(_ key: [UInt8], now: Int64) -> StoreValue? {
        if !expires.isEmpty, let deadline = expires[key], deadline <= now {
            delete(key)
            expired += 1
            keyExpired?(key)
            return nil
        }
        return values[key]
    }

    /// Stores a value: the `new` event for a new key, WATCH, and the clients blocked on it.
    func set(_ key: [UInt8], _ value: StoreValue, keepTTL: Bool = false) {
        let old = values.updateValue(value.compacted, forKey: StoreKey(key))
        if old == nil { keyCreated?(key) }
        if !keepTTL, !expires.isEmpty { expires.removeValue(forKey: key) }
        touch(key)
        // A stream replaced by another type fails its XREADGROUP waiters, as in Redis.
        if value.wakesWaiters || old?.isStream == true { keyReady?(key) }
    }

    /// The slot of `key`, lent for a change in place: one lookup of the key, where
    /// reading, taking out and storing back cost three. The caller expires the key
    /// first and reports the change after (`changedInPlace`): nothing may use
    /// `values` while the slot is lent.
    func withSlot<R, E: Error>(_ key: [UInt8], _ body: (inout StoreValue?) throws(E) -> R) throws(E) -> R {
        try body(&values[StoreKey(key)])
    }

    /// What a change made in place (through `withSlot` or a collection's box) owes the
    /// keyspace, as `set` would have done it: the `new` event, WATCH (unless not
    /// `touching`), blocked clients.
    func changedInPlace(_ key: [UInt8], created: Bool = false, touching: Bool = true, wakes: Bool) {
        if created { keyCreated?(key) }
        if touching { touch(key) }
        if wakes { keyReady?(key) }
    }

    /// Told when a key may wake the clients blocked on it: it got a list, a sorted set
    /// or a stream, or lost a stream.
    var keyReady: (([UInt8]) -> Void)?
    /// Told when a key is forgotten because its time is up (the `expired` event).
    var keyExpired: (([UInt8]) -> Void)?
    /// Told when a key is added (the `new` event), before the command's own event, as
    /// Redis's dbAdd publishes it.
    var keyCreated: (([UInt8]) -> Void)?

    @discardableResult
    func delete(_ key: [UInt8]) -> Bool {
        expires.removeValue(forKey: key)
        guard let old = values.removeValue(forKey: key) else { return false }
        touch(key)
        if old.isStream { keyReady?(key) }
        return true
    }

    /// Live keys, in no particular order.
    func keys(now: Int64) -> [[UInt8]] {
        values.keys.compactMap { key in expires[key].map { $0 > now } ?? true ? key.bytes : nil }
    }

    /// Forgets up to `limit` expired keys (the periodic sweep that bounds memory).
    func sweep(now: Int64, limit: Int) -> Int {
        var removed = 0
        for (key, deadline) in expires where deadline <= now {
            delete(key.bytes)
            expired += 1
            keyExpired?(key.bytes)
            removed += 1
            if removed >= limit { break }
        }
        return removed
    }
}

/// The whole keyspace and the pub/sub hub of one data store process. Confined
/// to its event loop, like Redis's single thread: commands run one at a time.
///
/// The properties a command touches are `@exclusivity(unchecked)`, here and in
/// `Database`, `Session` and `RESPConnectionHandler`: Swift checked each access to a
/// class's `var` at run time (a thread-local access set), about 20 checks and 1,700
/// instructions of a SET's 9,500. The compiler still rejects the overlapping accesses
/// it can see, and one thread runs all of this, so nothing else can overlap.
public final class Store {
    public static let databaseCount = 16
    let databases: [Database] = (0..<Store.databaseCount).map { _ in Database() }
    let pubsub = PubSubHub()
    /// Writes since start, for INFO and save rules.
    @exclusivity(unchecked) var changes = 0
    @exclusivity(unchecked) public internal(set) var commandsProcessed = 0
    @exclusivity(unchecked) public internal(set) var connections = 0
    var lastClientID = 0
    @exclusivity(unchecked) var waiters: [WaitKey: [BlockedClient]] = [:]
    /// Keys with blocked clients that got a value since, in the order they got it:
    /// served after the command (or the whole transaction) that did it, as Redis does.
    @exclusivity(unchecked) var readyKeys: [WaitKey] = []
    public var channelCount: Int { pubsub.channels.count + pubsub.patterns.count }
    public var subscriberCount: Int { pubsub.subscriptionCount }
    let startedAt = Date()
    public var password: String?
    @exclusivity(unchecked) var stats = ServerStats()
    /// A random identity for this run of the store (INFO's run_id), as Redis has.
    let runID = String((0..<40).map { _ in "0123456789abcdef".randomElement()! })
    /// Connections beyond this many are refused (CONFIG's `maxclients`).
    var maxClients = 10000
    /// The keyspace notifications asked for (CONFIG's `notify-keyspace-events`).
    @exclusivity(unchecked) var notifications: KeyspaceEvents = []
    /// Seconds a client may stay idle before it is closed; 0 never (CONFIG's `timeout`).
    var idleTimeout = 0
    /// The connected clients by id (CLIENT LIST, KILL, UNBLOCK).
    @exclusivity(unchecked) var sessions: [Int: Session] = [:]
    /// When a background save starts by itself (CONFIG's `save`).
    public var saveRules: [SaveRule] = []
    /// The longest string SETRANGE, SETBIT and APPEND may make: Redis's proto-max-bulk-len.
    public var maxStringLength = 512 << 20
    /// Where SAVE and BGSAVE write, and what is loaded at start.
    public var snapshotPath: String?
    var changesAtLastSave = 0
    public internal(set) var lastSave = Date()
    let saving = NIOLockedValueBox(false)
    /// How the last BGSAVE went (INFO's rdb_last_bgsave_status).
    let lastBackgroundSaveSucceeded = NIOLockedValueBox(true)

    public init(password: String? = nil, snapshotPath: String? = nil) {
        for (index, database) in databases.enumerated() {
            database.keyReady = { [unowned self] key in
                let waitKey = WaitKey(database: index, key: key)
                if waiters[waitKey] != nil, !readyKeys.contains(waitKey) { readyKeys.append(waitKey) }
            }
            database.keyExpired = { [unowned self] key in notify(.expired, "expired", key: key, database: index) }
            database.keyCreated = { [unowned self] key in notify(.newKeys, "new", key: key, database: index) }
        }
        self.password = password
        self.snapshotPath = snapshotPath
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Command names by the spelling clients sent, resolved; nil for an unknown name.
    /// At most a few spellings of each command are ever seen, but a client could
    /// invent mixed-case spellings without end: past the bound they are resolved anew.
    @exclusivity(unchecked) private var resolvedCommands: [StoreKey: Commands.Resolved] = [:]

    func resolve(_ spelling: [UInt8]) -> Commands.Resolved? {
        if let known = resolvedCommands[spelling] { return known }
        guard let resolved = Commands.Resolved(spelling) else { return nil }
        if resolvedCommands.count < 1024 { resolvedCommands[spelling] = resolved }
        return resolved
    }

    public var keyCount: Int { databases.reduce(0) { $0 + $1.values.count } }

    /// Every 100 ms, as Redis's serverCron: expired keys are forgotten (when touched,
    /// and here a little at a time) and the figures INFO reports are sampled.
    public func cron() {
        let now = Self.now()
        for database in databases where !database.expires.isEmpty { _ = database.sweep(now: now, limit: 200) }
        stats.sample(commandsProcessed: commandsProcessed)
        if idleTimeout > 0 {
            // CONFIG's `timeout`: idle clients are closed, but not subscribers or blocked ones (as Redis).
            let limit = Int64(idleTimeout) * 1000
            for session in sessions.values where now - session.lastInteraction > limit && !session.isSubscribed && session.blocked == nil {
                session.disconnect?()
            }
        }
    }
}
