/// A sorted set: members with scores, kept in score order (then member order).
/// Inserts are O(n) on a sorted array, which is fine at the sizes a chat or a
/// leaderboard keeps; a skip list can replace it without touching the commands.
public struct SortedSet: Sendable, Equatable {
    private(set) var scores: [[UInt8]: Double] = [:]
    private(set) var ordered: [(score: Double, member: [UInt8])] = []

    public init() {}

    public var count: Int { ordered.count }

    public static func == (lhs: SortedSet, rhs: SortedSet) -> Bool { lhs.scores == rhs.scores }

    public func score(of member: [UInt8]) -> Double? { scores[member] }

    /// Sets a member's score; returns whether it was added rather than updated.
    @discardableResult
    public mutating func set(_ member: [UInt8], score: Double) -> Bool {
        let added = remove(member) == nil
        scores[member] = score
        ordered.insert((score, member), at: insertionIndex(score, member))
        return added
    }

    @discardableResult
    public mutating func remove(_ member: [UInt8]) -> Double? {
        guard let score = scores.removeValue(forKey: member) else { return nil }
        let index = insertionIndex(score, member)
        if index < ordered.count, ordered[index].member == member { ordered.remove(at: index) }
        return score
    }

    /// Position of `member` in ascending order.
    public func rank(of member: [UInt8]) -> Int? {
        guard let score = scores[member] else { return nil }
        let index = insertionIndex(score, member)
        return index < ordered.count && ordered[index].member == member ? index : nil
    }

    public func range(_ ranks: ClosedRange<Int>) -> ArraySlice<(score: Double, member: [UInt8])> { ordered[ranks] }

    public func members(scoreFrom low: ScoreBound, to high: ScoreBound) -> [(score: Double, member: [UInt8])] {
        ordered.filter { low.admits($0.score, asLower: true) && high.admits($0.score, asLower: false) }
    }

    /// Members between two lex bounds, for sets whose members share one score (as
    /// Redis documents ZRANGEBYLEX; with mixed scores its answer is unspecified).
    public func members(lexFrom low: LexBound, to high: LexBound) -> [(score: Double, member: [UInt8])] {
        ordered.filter { low.admits($0.member, asLower: true) && high.admits($0.member, asLower: false) }
    }

    private func insertionIndex(_ score: Double, _ member: [UInt8]) -> Int {
        var low = 0, high = ordered.count
        while low < high {
            let middle = (low + high) / 2
            let entry = ordered[middle]
            if entry.score < score || (entry.score == score && entry.member.lexicographicallyPrecedes(member)) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
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
