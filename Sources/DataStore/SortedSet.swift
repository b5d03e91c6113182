/// A sorted set: members with scores, in score order (then member bytes, unsigned),
/// as Redis orders them. A dictionary answers a member's score in O(1); the order
/// lives in a `RankedTree`, so adding, removing, re-scoring, ranking, the member at a
/// rank and the start of a score or lex range are O(log n), and k members from there
/// cost O(k) more.
public struct SortedSet: Sendable, Equatable {
    public typealias Entry = (score: Double, member: [UInt8])

    /// Scores by member, hashed as one run of bytes (`StoreKey`): `[UInt8]` feeds the
    /// hasher a byte at a time, 1,200 of a ZADD's 10,700 instructions.
    private var members: [StoreKey: Double] = [:]
    private var tree = RankedTree()

    public init() {}

    public var count: Int { members.count }

    /// Every member's score, as one dictionary (ZUNION and the like): O(n).
    var scores: [[UInt8]: Double] {
        Dictionary(uniqueKeysWithValues: members.lazy.map { ($0.key.bytes, $0.value) })
    }

    /// A member picked at random: O(1).
    var randomMember: [UInt8]? { members.keys.randomElement()?.bytes }

    /// Whether every member is at most `length` bytes long: O(n).
    func membersFit(within length: Int) -> Bool { members.keys.allSatisfy { $0.bytes.count <= length } }

    /// Every entry, in ascending order: O(n).
    public var ordered: [Entry] { tree.entries(0..<count) }

    public static func == (lhs: SortedSet, rhs: SortedSet) -> Bool { lhs.members == rhs.members }

    public func score(of member: [UInt8]) -> Double? { members[member] }

    /// Sets a member's score; returns whether it was added rather than updated.
    @discardableResult
    public mutating func set(_ member: [UInt8], score: Double) -> Bool {
        let old = members.updateValue(score, forKey: StoreKey(member))
        if let old {
            // Same bits, same place; -0 and 0 differ in what a reply prints, so they are re-stored.
            if old.bitPattern == score.bitPattern { return false }
            tree.remove(old, member)
        }
        tree.insert(score, member)
        return old == nil
    }

    @discardableResult
    public mutating func remove(_ member: [UInt8]) -> Double? {
        guard let score = members.removeValue(forKey: member) else { return nil }
        tree.remove(score, member)
        return score
    }

    /// Position of `member` in ascending order.
    public func rank(of member: [UInt8]) -> Int? {
        guard let score = members[member] else { return nil }
        return tree.rank(score, member)
    }

    /// The entry at `rank` in ascending order.
    public func element(at rank: Int) -> Entry? { tree.entry(at: rank) }

    /// Entries at `ranks` (clamped to the set), ascending.
    public func range(_ ranks: ClosedRange<Int>) -> [Entry] { tree.entries(ranks.lowerBound..<(ranks.upperBound + 1)) }

    /// Entries at `ranks` (clamped to the set), ascending.
    public func range(_ ranks: Range<Int>) -> [Entry] { tree.entries(ranks) }

    /// The ranks of the members whose scores lie between the bounds: O(log n).
    public func ranks(scoreFrom low: ScoreBound, to high: ScoreBound) -> Range<Int> {
        ranks(before: { score, _ in !low.admits(score, asLower: true) },
              through: { score, _ in high.admits(score, asLower: false) })
    }

    public func members(scoreFrom low: ScoreBound, to high: ScoreBound) -> [Entry] {
        tree.entries(ranks(scoreFrom: low, to: high))
    }

    /// The ranks of the members between two lex bounds, for sets whose members share one
    /// score (as Redis documents ZRANGEBYLEX; with mixed scores its answer is unspecified).
    public func ranks(lexFrom low: LexBound, to high: LexBound) -> Range<Int> {
        ranks(before: { _, member in !low.admits(member, asLower: true) },
              through: { _, member in high.admits(member, asLower: false) })
    }

    public func members(lexFrom low: LexBound, to high: LexBound) -> [Entry] {
        tree.entries(ranks(lexFrom: low, to: high))
    }

    /// From the first entry `before` turns false for to the last `through` holds for;
    /// each must hold for a prefix of the order. Two descents: O(log n).
    private func ranks(before: (Double, [UInt8]) -> Bool, through: (Double, [UInt8]) -> Bool) -> Range<Int> {
        let start = tree.countBelow(before), end = tree.countBelow(through)
        return start..<max(start, end)
    }
}

/// A ZRANGEBYSCORE bound: `1.5`, `(1.5` (exclusive), `-inf`, `+inf`.
public struct ScoreBound: Sendable {
    public var value: Double
    public var exclusive: Bool

    init?(_ bytes: [UInt8]) {
        var text = String(decoding: bytes, as: UTF8.self).lowercased()
        exclusive = text.hasPrefix("(")
        if exclusive { text.removeFirst() }
        switch text {
        case "-inf": value = -.infinity
        case "+inf", "inf": value = .infinity
        default:
            guard let number = Double(text), !number.isNaN else { return nil }
            value = number
        }
    }

    func admits(_ score: Double, asLower: Bool) -> Bool {
        asLower ? (exclusive ? score > value : score >= value) : (exclusive ? score < value : score <= value)
    }
}

/// A ZRANGEBYLEX bound: `-`, `+`, `[member` (inclusive) or `(member` (exclusive).
public enum LexBound: Sendable {
    case lowest, highest
    case member([UInt8], exclusive: Bool)

    init?(_ bytes: [UInt8]) {
        switch bytes.first {
        case UInt8(ascii: "-") where bytes.count == 1: self = .lowest
        case UInt8(ascii: "+") where bytes.count == 1: self = .highest
        case UInt8(ascii: "["): self = .member(Array(bytes.dropFirst()), exclusive: false)
        case UInt8(ascii: "("): self = .member(Array(bytes.dropFirst()), exclusive: true)
        default: return nil
        }
    }

    func admits(_ member: [UInt8], asLower: Bool) -> Bool {
        switch self {
        case .lowest: return asLower
        case .highest: return !asLower
        case .member(let bound, let exclusive):
            if member == bound { return !exclusive }
            return asLower ? bound.lexicographicallyPrecedes(member) : member.lexicographicallyPrecedes(bound)
        }
    }
}
