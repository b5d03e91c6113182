import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// A stored value; keys and members are byte strings, as in Redis.
///
/// A word and a tag: every key's slot in the dictionary holds one, so its size is
/// paid for each of a million keys. Collections live in a `Box` of their own (a
/// stream inline made every slot 88 bytes, 200 MB for a million string keys), which
/// their key's commands change in place: one lookup of the key, where taking the
/// value out of the dictionary and storing it back cost two more and a new box.
public enum StoreValue: Sendable {
    case string([UInt8])
    /// A string of at most 7 bytes (a counter, a flag) kept in the slot itself, as
    /// Redis keeps small values inside their object: no allocation of its own.
    /// `Database.set` stores short strings this way; read them with `stringBytes`.
    case shortString(ShortString)
    case list(Box<CircularBuffer<[UInt8]>>)
    /// Fields and members hash as one run of bytes (`StoreKey`), as keys do.
    case hash(Box<[StoreKey: [UInt8]]>)
    case set(Box<Set<StoreKey>>)
    case sortedSet(Box<SortedSet>)
    case stream(Box<Stream>)

    static func list(_ items: CircularBuffer<[UInt8]>) -> StoreValue { .list(Box(items)) }
    static func hash(_ fields: [StoreKey: [UInt8]]) -> StoreValue { .hash(Box(fields)) }
    static func set(_ members: Set<StoreKey>) -> StoreValue { .set(Box(members)) }
    static func sortedSet(_ set: SortedSet) -> StoreValue { .sortedSet(Box(set)) }
    static func stream(_ stream: Stream) -> StoreValue { .stream(Box(stream)) }

    /// The same contents in boxes of their own, for a second key (COPY): a box is
    /// never shared, so a change through one key cannot reach another.
    var copied: StoreValue {
        switch self {
        case .string, .shortString: self
        case .list(let box): .list(box.value)
        case .hash(let box): .hash(box.value)
        case .set(let box): .set(box.value)
        case .sortedSet(let box): .sortedSet(box.value)
        case .stream(let box): .stream(box.value)
        }
    }

    var typeName: String {
        switch self {
        case .string, .shortString: "string"
        case .list: "list"
        case .hash: "hash"
        case .set: "set"
        case .sortedSet: "zset"
        case .stream: "stream"
        }
    }

    /// Whether a client may wait for a key to hold a value of this kind.
    var wakesWaiters: Bool {
        switch self {
        case .list, .sortedSet, .stream: true
        case .string, .shortString, .hash, .set: false
        }
    }

    var isStream: Bool { if case .stream = self { true } else { false } }

    /// A list, hash, set or sorted set with nothing left: Redis deletes its key.
    var isEmptyCollection: Bool {
        switch self {
        case .list(let list): list.value.isEmpty
        case .hash(let hash): hash.value.isEmpty
        case .set(let set): set.value.isEmpty
        case .sortedSet(let set): set.value.count == 0
        case .string, .shortString, .stream: false
        }
    }

    /// A string's bytes, however it is kept; nil for the other types.
    var stringBytes: [UInt8]? {
        switch self {
        case .string(let bytes): bytes
        case .shortString(let short): short.bytes
        default: nil
        }
    }

    /// The form a value is stored in: short strings in the slot.
    var compacted: StoreValue {
        if case .string(let bytes) = self, let short = ShortString(bytes) { return .shortString(short) }
        return self
    }
}

/// A key's collection, changed in place by its commands. Confined to the store's
/// event loop like everything of the store (hence `@unchecked Sendable`), and never
/// held by two keys (`StoreValue.copied`).
public final class Box<Value>: @unchecked Sendable {
    /// Unchecked: a command's change is the only access while it runs, as for
    /// `Database`'s properties.
    @exclusivity(unchecked) public var value: Value

    init(_ value: Value) { self.value = value }
}

/// Up to 7 bytes and their count in one word: the count in the low byte, then the bytes.
public struct ShortString: Sendable, Equatable {
    private let raw: UInt64

    init?(_ bytes: [UInt8]) {
        guard bytes.count <= 7 else { return nil }
        var raw = UInt64(bytes.count)
        for (index, byte) in bytes.enumerated() { raw |= UInt64(byte) << (8 * (index + 1)) }
        self.raw = raw
    }

    /// The decimal form of `value` when it fits (-999,999 to 9,999,999), built in the
    /// word: INCR on a counter allocates nothing.
    init?(integer value: Int) {
        guard value > -1_000_000, value < 10_000_000 else { return nil }
        var digits = 1
        var rest = value.magnitude / 10
        while rest > 0 { digits += 1; rest /= 10 }
        let count = digits + (value < 0 ? 1 : 0)
        var raw = UInt64(count)
        var magnitude = value.magnitude
        for position in stride(from: count, to: count - digits, by: -1) {
            raw |= UInt64(UInt8(ascii: "0") + UInt8(magnitude % 10)) << (8 * position)
            magnitude /= 10
        }
        if value < 0 { raw |= UInt64(UInt8(ascii: "-")) << 8 }
        self.raw = raw
    }

    var count: Int { Int(raw & 0xFF) }

    /// The integer these bytes spell, read as `Commands.integer` reads one (an
    /// optional minus, digits, no leading zero); nil for anything else.
    var integer: Int? {
        var digits = count
        var rest = raw >> 8
        let negative = digits > 0 && UInt8(truncatingIfNeeded: rest) == UInt8(ascii: "-")
        if negative { digits -= 1; rest >>= 8 }
        guard digits > 0, UInt8(truncatingIfNeeded: rest) != UInt8(ascii: "0") || count == 1 else { return nil }
        var value = 0
        for _ in 0..<digits {
            let digit = UInt8(truncatingIfNeeded: rest) &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)   // at most 7 digits
            rest >>= 8
        }
        return negative ? -value : value
    }
    /// Copied from the word's bytes: `[UInt8](unsafeUninitializedCapacity:)` goes
    /// through the standard library's unspecialised allocation, which looks up the
    /// array's metadata at run time (about 320 instructions) on every call.
    var bytes: [UInt8] {
        withBytes { Array($0) }
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: raw.littleEndian) { body(UnsafeRawBufferPointer(rebasing: $0[1..<(1 + count)])) }
    }
}

/// A key in a database's dictionaries: its bytes, hashed as one run of bytes.
/// `[UInt8]`'s own hashing feeds the hasher a byte at a time, which was a tenth of
/// a pipelined SET's cost.
public struct StoreKey: Hashable, Sendable {
    public let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// Redis's order of fields and members: their bytes, unsigned.
    func lexicographicallyPrecedes(_ other: StoreKey) -> Bool { bytes.lexicographicallyPrecedes(other.bytes) }
}

extension Dictionary where Key == StoreKey {
    /// The dictionaries keyed by `StoreKey`, read and written with a key's bytes.
    subscript(_ bytes: [UInt8]) -> Value? {
        get { self[StoreKey(bytes)] }
        set { self[StoreKey(bytes)] = newValue }
    }

    @discardableResult
    mutating func removeValue(forKey bytes: [UInt8]) -> Value? { removeValue(forKey: StoreKey(bytes)) }

    @discardableResult
    mutating func updateValue(_ value: Value, forKey bytes: [UInt8]) -> Value? { updateValue(value, forKey: StoreKey(bytes)) }
}

extension Set where Element == StoreKey {
    /// Sets of members, asked and changed with a member's bytes.
    func contains(_ bytes: [UInt8]) -> Bool { contains(StoreKey(bytes)) }

    @discardableResult
    mutating func insert(_ bytes: [UInt8]) -> (inserted: Bool, memberAfterInsert: StoreKey) { insert(StoreKey(bytes)) }

    @discardableResult
    mutating func remove(_ bytes: [UInt8]) -> StoreKey? { remove(StoreKey(bytes)) }
}

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

    /// Stores a value; `touching` false leaves WATCH alone, and `readying` false the
    /// blocked clients, for the stream commands Redis counts as neither (a group read,
    /// an XSETID). `isNew` says whether the key is new (the `new` event) when the
    /// dictionary cannot: a mutation took the value out before it stores it back.
    func set(_ key: [UInt8], _ value: StoreValue, keepTTL: Bool = false, touching: Bool = true, readying: Bool = true,
             isNew: Bool? = nil) {
        let old = values.updateValue(value.compacted, forKey: StoreKey(key))
        if isNew ?? (old == nil) { keyCreated?(key) }
        if !keepTTL, !expires.isEmpty { expires.removeValue(forKey: key) }
        if touching { touch(key) }
        // A stream replaced by another type fails its XREADGROUP waiters, as in Redis.
        if readying, value.wakesWaiters || old?.isStream == true { keyReady?(key) }
    }

    /// The slot of `key`, lent for a change in place: one lookup of the key, where
    /// reading, taking out and storing back cost three. The caller expires the key
    /// first and reports the change after (`changedInPlace`): nothing may use
    /// `values` while the slot is lent.
    func withSlot<R, E: Error>(_ key: [UInt8], _ body: (inout StoreValue?) throws(E) -> R) throws(E) -> R {
        try body(&values[StoreKey(key)])
    }

    /// What a change made in place (through `withSlot` or a collection's box) owes the
    /// keyspace, as `set` or `delete` would have done it: the `new` event, WATCH
    /// (unless not `touching`), blocked clients, a deleted key's expiry.
    func changedInPlace(_ key: [UInt8], created: Bool, deleted: Bool, touching: Bool = true, wakes: Bool) {
        if created { keyCreated?(key) }
        if deleted, !expires.isEmpty { expires.removeValue(forKey: key) }
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
