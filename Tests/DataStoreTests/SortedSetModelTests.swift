@testable import DataStore
import Testing

/// SortedSet's tree against the simplest model that is obviously right: an array kept
/// sorted by (score, member bytes), filtered for every query. A seeded random walk of
/// adds, re-scores and removes, with every query checked along the way and at the edges.
struct SortedSetModelTests {
    /// splitmix64, so a failure replays the same way.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = (state ^ (state >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            return mixed ^ (mixed >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    }

    struct Model {
        var entries: [SortedSet.Entry] = []
        mutating func set(_ member: [UInt8], _ score: Double) {
            remove(member)
            let index = entries.firstIndex { precedes((score, member), $0) } ?? entries.count
            entries.insert((score, member), at: index)
        }
        mutating func remove(_ member: [UInt8]) { entries.removeAll { $0.member == member } }
        func precedes(_ lhs: SortedSet.Entry, _ rhs: SortedSet.Entry) -> Bool {
            lhs.score < rhs.score || (lhs.score == rhs.score && lhs.member.lexicographicallyPrecedes(rhs.member))
        }
    }

    static let scores: [Double] = [-.infinity, -2.5, -1, -0.0, 0, 1, 1.5, 3, 100, .infinity]

    static func member(_ random: inout Random, pool: Int) -> [UInt8] {
        // Short members, some with bytes over 127, so unsigned order and prefixes both matter.
        let seed = random.below(pool)
        return (0..<(1 + seed % 3)).map { UInt8(truncatingIfNeeded: (seed &* 37 &+ $0 &* 101) % 256) }
    }

    static func same(_ lhs: [SortedSet.Entry], _ rhs: [SortedSet.Entry]) -> Bool {
        lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0.score.bitPattern == $1.score.bitPattern && $0.member == $1.member }
    }

    static func check(_ set: SortedSet, _ model: Model, _ random: inout Random) {
        let entries = model.entries
        #expect(set.count == entries.count)
        #expect(same(set.ordered, entries))
        for (rank, entry) in entries.enumerated() {
            #expect(set.rank(of: entry.member) == rank)
            #expect(set.score(of: entry.member)?.bitPattern == entry.score.bitPattern)
        }
        #expect(set.element(at: -1) == nil && set.element(at: entries.count) == nil)
        if let first = entries.first, let last = entries.last {
            #expect(set.element(at: 0)?.member == first.member && set.element(at: entries.count - 1)?.member == last.member)
            #expect(same(set.range(0...0), [first]) && same(set.range((entries.count - 1)...(entries.count - 1)), [last]))
            #expect(same(set.range(0...(entries.count - 1)), entries))
        }
        #expect(set.range(entries.count..<(entries.count + 3)).isEmpty)
        for _ in 0..<20 where !entries.isEmpty {
            let (a, b) = (random.below(entries.count), random.below(entries.count))
            #expect(same(set.range(min(a, b)...max(a, b)), Array(entries[min(a, b)...max(a, b)])))
            #expect(set.element(at: a)?.member == entries[a].member)
        }
        for _ in 0..<30 {
            let texts = [scores[random.below(scores.count)], scores[random.below(scores.count)]].map { score -> String in
                let text = score == .infinity ? "+inf" : score == -.infinity ? "-inf" : "\(score)"
                return random.below(2) == 0 ? "(" + text : text
            }
            guard let low = ScoreBound(Array(texts[0].utf8)), let high = ScoreBound(Array(texts[1].utf8)) else {
                Issue.record("bad bound \(texts)")
                continue
            }
            let expected = entries.filter { low.admits($0.score, asLower: true) && high.admits($0.score, asLower: false) }
            #expect(same(set.members(scoreFrom: low, to: high), expected), "\(texts)")
            #expect(set.ranks(scoreFrom: low, to: high).count == expected.count)
        }
    }

    @Test func randomEditsMatchASortedArray() {
        var random = Random(state: 20_240_601)
        var set = SortedSet(), model = Model()
        for step in 0..<40_000 {
            let member = Self.member(&random, pool: 1500)
            switch random.below(10) {
            case 0..<6:
                let score = random.below(3) == 0 ? Double(random.below(2000)) / 8 - 100 : Self.scores[random.below(Self.scores.count)]
                let added = set.score(of: member) == nil
                #expect(set.set(member, score: score) == added)
                model.set(member, score)
            default:
                let had = model.entries.first { $0.member == member }?.score
                #expect(set.remove(member)?.bitPattern == had?.bitPattern)
                model.remove(member)
            }
            #expect(set.rank(of: member) == model.entries.firstIndex { $0.member == member })
            if step % 2000 == 0 { Self.check(set, model, &random) }
        }
        Self.check(set, model, &random)
        // Emptied, the set shrinks its node array and still answers.
        for entry in model.entries { set.remove(entry.member) }
        Self.check(set, Model(), &random)
    }

    @Test func lexRangesOnOneScore() {
        var random = Random(state: 7)
        var set = SortedSet(), model = Model()
        for step in 0..<6_000 {
            let member = Self.member(&random, pool: 400)
            if random.below(3) == 0 { set.remove(member); model.remove(member) } else { set.set(member, score: 0); model.set(member, 0) }
            guard step % 100 == 0 else { continue }
            for _ in 0..<20 {
                let bounds = (0..<2).map { _ -> LexBound in
                    switch random.below(6) {
                    case 0: .lowest
                    case 1: .highest
                    default: .member(Self.member(&random, pool: 400), exclusive: random.below(2) == 0)
                    }
                }
                let expected = model.entries.filter { bounds[0].admits($0.member, asLower: true) && bounds[1].admits($0.member, asLower: false) }
                #expect(Self.same(set.members(lexFrom: bounds[0], to: bounds[1]), expected))
                #expect(set.ranks(lexFrom: bounds[0], to: bounds[1]).count == expected.count)
            }
        }
    }

    @Test func copiesDoNotShareEdits() {
        var original = SortedSet()
        for index in 0..<3000 { original.set(Array("m\(index)".utf8), score: Double(index % 17)) }
        var copy = original
        for index in 0..<2900 { copy.remove(Array("m\(index)".utf8)) }
        copy.set(Array("m2999".utf8), score: -1)
        #expect(original.count == 3000 && copy.count == 100)
        #expect(original.score(of: Array("m2999".utf8)) == Double(2999 % 17))
        #expect(original.ordered.count == 3000 && copy.rank(of: Array("m2999".utf8)) == 0)
        #expect(original != copy)
    }
}
