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
        // One pass from the last digit: each digit found pushes those after it up a
        // byte, so the first digit ends in the lowest byte, where the text begins.
        var magnitude = UInt64(value.magnitude)
        var text: UInt64 = 0
        var count: UInt64 = 0
        repeat {
            text = text << 8 | (0x30 + magnitude % 10)
            magnitude /= 10
            count += 1
        } while magnitude > 0
        if value < 0 {
            text = text << 8 | UInt64(UInt8(ascii: "-"))
            count += 1
        }
        raw = text << 8 | count
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
