/// A sorted set's order: entries by score, then member bytes (unsigned), kept in a
/// treap (a search tree balanced by random heap priorities) whose nodes carry their
/// subtree sizes, so ranks are found on the way down.
///
/// The nodes live in one array and point at each other by Int32 index, with removed
/// slots on a free list threaded through `left`: no per-node objects, no reference
/// counting on links, and the array's own copy-on-write gives the sorted set value
/// semantics. Insert, remove, rank, the entry at a rank and the first entry past a
/// bound are O(log n) expected; walking k entries from a rank is O(log n + k).
struct RankedTree: Sendable {
    typealias Entry = (score: Double, member: [UInt8])

    private struct Node: Sendable {
        var score: Double
        var member: [UInt8]
        var left: Int32
        var right: Int32
        var size: Int32
        var priority: UInt32
    }

    private static let none: Int32 = -1
    private var nodes: [Node] = []
    private var root = RankedTree.none
    private var freeHead = RankedTree.none
    /// splitmix64 state for priorities; deterministic, so a set behaves the same run to run.
    private var seed: UInt64 = 0x9E37_79B9_7F4A_7C15

    init() {}

    var count: Int { size(root) }

    // MARK: Queries

    /// Position of the entry (score, member), if it is in the tree.
    func rank(_ score: Double, _ member: [UInt8]) -> Int? {
        var node = root, passed = 0
        while node != Self.none {
            let current = nodes[Int(node)]
            if current.score == score && current.member == member { return passed + size(current.left) }
            if Self.precedes(score, member, current.score, current.member) {
                node = current.left
            } else {
                passed += size(current.left) + 1
                node = current.right
            }
        }
        return nil
    }

    /// How many leading entries `isBelow` holds for; it must hold for a prefix of the order.
    func countBelow(_ isBelow: (Double, [UInt8]) -> Bool) -> Int {
        var node = root, passed = 0
        while node != Self.none {
            let current = nodes[Int(node)]
            if isBelow(current.score, current.member) {
                passed += size(current.left) + 1
                node = current.right
            } else {
                node = current.left
            }
        }
        return passed
    }

    func entry(at rank: Int) -> Entry? {
        guard rank >= 0, rank < count else { return nil }
        var node = root, wanted = rank
        while node != Self.none {
            let current = nodes[Int(node)]
            let leftSize = size(current.left)
            if wanted == leftSize { return (current.score, current.member) }
            if wanted < leftSize {
                node = current.left
            } else {
                wanted -= leftSize + 1
                node = current.right
            }
        }
        return nil
    }

    /// The entries at `ranks` (clamped to the tree), in ascending order.
    func entries(_ ranks: Range<Int>) -> [Entry] {
        let start = max(0, ranks.lowerBound), end = min(count, ranks.upperBound)
        guard start < end else { return [] }
        // The path to `start`, holding the nodes still to be visited in order.
        var stack: [Int32] = []
        var node = root, wanted = start
        while node != Self.none {
            let current = nodes[Int(node)]
            let leftSize = size(current.left)
            if wanted <= leftSize { stack.append(node) }
            if wanted == leftSize { break }
            if wanted < leftSize {
                node = current.left
            } else {
                wanted -= leftSize + 1
                node = current.right
            }
        }
        var result: [Entry] = []
        result.reserveCapacity(end - start)
        while result.count < end - start, let next = stack.popLast() {
            let current = nodes[Int(next)]
            result.append((current.score, current.member))
            var child = current.right
            while child != Self.none {
                stack.append(child)
                child = nodes[Int(child)].left
            }
        }
        return result
    }

    // MARK: Edits

    /// Adds (score, member); the caller makes sure the member is not already in.
    mutating func insert(_ score: Double, _ member: [UInt8]) {
        let node = allocate(score, member)
        root = insert(node, into: root)
    }

    /// Removes (score, member), which the caller knows is in the tree.
    mutating func remove(_ score: Double, _ member: [UInt8]) {
        root = remove(score, member, from: root)
        if nodes.count > 1024 && count * 4 < nodes.count { compact() }
    }

    private mutating func insert(_ node: Int32, into tree: Int32) -> Int32 {
        guard tree != Self.none else { return node }
        let new = nodes[Int(node)]
        if new.priority > nodes[Int(tree)].priority {
            let (left, right) = split(tree, new.score, new.member)
            nodes[Int(node)].left = left
            nodes[Int(node)].right = right
            resize(node)
            return node
        }
        if Self.precedes(new.score, new.member, nodes[Int(tree)].score, nodes[Int(tree)].member) {
            let child = insert(node, into: nodes[Int(tree)].left)
            nodes[Int(tree)].left = child
        } else {
            let child = insert(node, into: nodes[Int(tree)].right)
            nodes[Int(tree)].right = child
        }
        nodes[Int(tree)].size += 1
        return tree
    }

    private mutating func remove(_ score: Double, _ member: [UInt8], from tree: Int32) -> Int32 {
        guard tree != Self.none else { return Self.none }
        let current = nodes[Int(tree)]
        if current.score == score && current.member == member {
            let merged = merge(current.left, current.right)
            release(tree)
            return merged
        }
        if Self.precedes(score, member, current.score, current.member) {
            let child = remove(score, member, from: current.left)
            nodes[Int(tree)].left = child
        } else {
            let child = remove(score, member, from: current.right)
            nodes[Int(tree)].right = child
        }
        resize(tree)
        return tree
    }

    /// Splits `tree` into the entries before (score, member) and the rest.
    private mutating func split(_ tree: Int32, _ score: Double, _ member: [UInt8]) -> (Int32, Int32) {
        guard tree != Self.none else { return (Self.none, Self.none) }
        if Self.precedes(nodes[Int(tree)].score, nodes[Int(tree)].member, score, member) {
            let (left, right) = split(nodes[Int(tree)].right, score, member)
            nodes[Int(tree)].right = left
            resize(tree)
            return (tree, right)
        }
        let (left, right) = split(nodes[Int(tree)].left, score, member)
        nodes[Int(tree)].left = right
        resize(tree)
        return (left, tree)
    }

    /// Joins two trees where every entry of `low` comes before every entry of `high`.
    private mutating func merge(_ low: Int32, _ high: Int32) -> Int32 {
        if low == Self.none { return high }
        if high == Self.none { return low }
        if nodes[Int(low)].priority > nodes[Int(high)].priority {
            let child = merge(nodes[Int(low)].right, high)
            nodes[Int(low)].right = child
            resize(low)
            return low
        }
        let child = merge(low, nodes[Int(high)].left)
        nodes[Int(high)].left = child
        resize(high)
        return high
    }

    // MARK: Nodes

    private mutating func allocate(_ score: Double, _ member: [UInt8]) -> Int32 {
        seed &+= 0x9E37_79B9_7F4A_7C15
        var mixed = (seed ^ (seed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        let node = Node(score: score, member: member, left: Self.none, right: Self.none, size: 1,
                        priority: UInt32(truncatingIfNeeded: mixed ^ (mixed >> 31)))
        guard freeHead != Self.none else {
            nodes.append(node)
            return Int32(nodes.count - 1)
        }
        let slot = freeHead
        freeHead = nodes[Int(slot)].left
        nodes[Int(slot)] = node
        return slot
    }

    private mutating func release(_ node: Int32) {
        nodes[Int(node)].member = []
        nodes[Int(node)].left = freeHead
        nodes[Int(node)].right = Self.none
        freeHead = node
    }

    /// Rebuilds into a fresh array once most slots are free, so a set that shrank gives its memory back.
    private mutating func compact() {
        let all = entries(0..<count)
        self = RankedTree()
        nodes.reserveCapacity(all.count)
        for entry in all { insert(entry.score, entry.member) }
    }

    private func size(_ node: Int32) -> Int { node == Self.none ? 0 : Int(nodes[Int(node)].size) }

    private mutating func resize(_ node: Int32) {
        let (left, right) = (nodes[Int(node)].left, nodes[Int(node)].right)
        nodes[Int(node)].size = Int32(1 + size(left) + size(right))
    }

    /// Redis's order: score ascending, then member bytes compared unsigned.
    static func precedes(_ score: Double, _ member: [UInt8], _ otherScore: Double, _ otherMember: [UInt8]) -> Bool {
        score < otherScore || (score == otherScore && member.lexicographicallyPrecedes(otherMember))
    }
}
