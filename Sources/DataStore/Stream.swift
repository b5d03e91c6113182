/// A stream: entries in ID order, with the counters and consumer groups Redis keeps.
///
/// Entries live in nodes the way Redis's radix tree holds listpacks (a new node after
/// 100 entries, deleted ones included, or about 4 KB), because replies show the
/// nodes: approximate trimming (`~`) removes whole nodes only, and a deleted entry
/// stays in its node, as a tombstone, until the node empties.
public struct Stream: Sendable {
    struct Entry: Sendable, Equatable {
        let id: StreamID
        /// Field, value, field, value...
        let fields: [[UInt8]]
        var deleted = false
    }

    struct Node: Sendable, Equatable {
        var entries: [Entry]
        var live: Int
        /// The size Redis's listpack would have, which decides when a node is full.
        var bytes: Int
        let masterFields: [[UInt8]]
    }

    /// Redis 7.0's stream-node-max-entries and stream-node-max-bytes.
    static let nodeMaxEntries = 100
    static let nodeMaxBytes = 4096

    var nodes: [Node] = []
    public internal(set) var length = 0
    var lastID = StreamID.zero
    /// The first live entry's ID as last recorded (0-0 when empty).
    var firstID = StreamID.zero
    var maxDeletedID = StreamID.zero
    var entriesAdded: UInt64 = 0
    var groups: [[UInt8]: ConsumerGroup] = [:]

    public init() {}

    // MARK: - Adding

    /// Why XADD could not add.
    enum AppendError: Error { case notGreater, exhausted }

    /// Appends an entry: with an ID given (whose sequence may be left to choose), or
    /// the next one after `now` (ms) otherwise. Returns the ID used.
    mutating func append(_ fields: [[UInt8]], id requested: StreamID.Parsed?, now: UInt64) throws(AppendError) -> StreamID {
        let id: StreamID
        if let requested, requested.sequenceGiven {
            id = requested.id
        } else if let requested {
            if lastID.ms == requested.id.ms {
                guard lastID.seq < .max else { throw .notGreater }
                id = StreamID(ms: lastID.ms, seq: lastID.seq + 1)
            } else {
                id = requested.id
            }
        } else if now > lastID.ms {
            id = StreamID(ms: now, seq: 0)
        } else {
            guard let next = lastID.successor else { throw .exhausted }
            id = next
        }
        guard id > lastID else { throw .notGreater }
        let raw = fields.reduce(0) { $0 + $1.count }
        if let last = nodes.last, last.bytes + raw >= Self.nodeMaxBytes || last.entries.count >= Self.nodeMaxEntries {
            nodes.append(Node(entries: [], live: 0, bytes: 0, masterFields: Self.names(fields)))
        } else if nodes.isEmpty {
            nodes.append(Node(entries: [], live: 0, bytes: 0, masterFields: Self.names(fields)))
        }
        let index = nodes.count - 1
        if nodes[index].entries.isEmpty {
            nodes[index].bytes = Listpack.size(ofMaster: nodes[index].masterFields)
        }
        let master = nodes[index].entries.first?.id ?? id
        nodes[index].bytes += Listpack.size(ofEntry: id, master: master, fields: fields, masterFields: nodes[index].masterFields)
        nodes[index].entries.append(Entry(id: id, fields: fields))
        nodes[index].live += 1
        length += 1
        entriesAdded &+= 1
        lastID = id
        if length == 1 { firstID = id }
        return id
    }

    static func names(_ fields: [[UInt8]]) -> [[UInt8]] { stride(from: 0, to: fields.count, by: 2).map { fields[$0] } }

    // MARK: - Reading

    /// Live entries from `start` to `end` (both included), in order or reversed; `count` 0 is all.
    func range(from start: StreamID, to end: StreamID, reverse: Bool = false, count: Int = 0) -> [Entry] {
        guard start <= end else { return [] }
        var found: [Entry] = []
        let first = firstNode(containing: start)
        let nodeIndices = reverse ? Array((first..<nodes.count).reversed()) : Array(first..<nodes.count)
        for nodeIndex in nodeIndices {
            let entries = nodes[nodeIndex].entries
            if !reverse, let head = entries.first, head.id > end { break }
            for entry in reverse ? entries.reversed() : entries where !entry.deleted && entry.id >= start && entry.id <= end {
                found.append(entry)
                if count > 0, found.count == count { return found }
            }
        }
        return found
    }

    func entry(_ id: StreamID) -> Entry? { range(from: id, to: id).first }

    /// The last live entry's ID (0-0 when there is none).
    var lastLiveID: StreamID { range(from: .zero, to: .max, reverse: true, count: 1).first?.id ?? .zero }

    /// The index of the node that may hold `id`: the last whose first entry is not after it.
    private func firstNode(containing id: StreamID) -> Int {
        var low = 0, high = nodes.count
        while low < high {
            let middle = (low + high) / 2
            if let head = nodes[middle].entries.first, head.id <= id { low = middle + 1 } else { high = middle }
        }
        return max(0, low - 1)
    }

    /// How many nodes Redis's radix tree would have for these nodes' keys (their first
    /// IDs as 16 big-endian bytes): the root, each key, each point where keys part, and
    /// each branch out of such a point.
    var radixTreeNodes: Int {
        let keys = nodes.compactMap { $0.entries.first?.id }.map { id in
            (0..<8).map { UInt8(truncatingIfNeeded: id.ms >> (56 - 8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: id.seq >> (56 - 8 * $0)) }
        }
        var prefixes: Set<ArraySlice<UInt8>> = [[]]
        for (index, key) in keys.enumerated() {
            prefixes.insert(key[...])
            guard index + 1 < keys.count else { continue }
            let next = keys[index + 1]
            let common = zip(key, next).prefix { $0 == $1 }.count
            prefixes.formUnion([key[..<common], key[...common], next[...common]])
        }
        return prefixes.count
    }

    // MARK: - Deleting

    /// XDEL of one ID: the entry becomes a tombstone; a node with no live entry goes.
    mutating func delete(_ id: StreamID) -> Bool {
        let nodeIndex = firstNode(containing: id)
        guard nodeIndex < nodes.count,
              let index = nodes[nodeIndex].entries.firstIndex(where: { $0.id == id && !$0.deleted }) else { return false }
        if nodes[nodeIndex].live == 1 {
            nodes.remove(at: nodeIndex)
        } else {
            nodes[nodeIndex].entries[index].deleted = true
            nodes[nodeIndex].live -= 1
        }
        length -= 1
        return true
    }

    /// The first live entry, recorded again after deletions.
    mutating func refreshFirstID() {
        firstID = length == 0 ? .zero : range(from: .zero, to: .max, count: 1).first?.id ?? .zero
    }

    /// How XADD and XTRIM trim: MAXLEN or MINID, exactly or by whole nodes (`~`), at
    /// most `limit` entries (0: no limit).
    struct Trim: Sendable {
        enum Strategy: Sendable { case maxLength(Int), minimumID(StreamID) }
        var strategy: Strategy
        var approximate = false
        var limit = 0
    }

    /// Trims as Redis's streamTrim does; how many entries went.
    mutating func trim(_ trim: Trim) -> Int {
        var deleted = 0
        while let node = nodes.first {
            if case .maxLength(let maximum) = trim.strategy, length <= maximum { break }
            if trim.limit > 0, deleted + node.live > trim.limit { break }
            let removeNode: Bool
            switch trim.strategy {
            case .maxLength(let maximum): removeNode = length - node.live >= maximum
            case .minimumID(let minimum): removeNode = (node.entries.last?.id ?? .zero) < minimum
            }
            if removeNode {
                nodes.removeFirst()
                length -= node.live
                deleted += node.live
                continue
            }
            if trim.approximate { break }
            for index in node.entries.indices {
                let done = switch trim.strategy {
                case .maxLength(let maximum): length <= maximum
                case .minimumID(let minimum): node.entries[index].id >= minimum
                }
                if done { break }
                if !nodes[0].entries[index].deleted {
                    nodes[0].entries[index].deleted = true
                    nodes[0].live -= 1
                    length -= 1
                    deleted += 1
                }
            }
            break
        }
        if length == 0 {
            firstID = .zero
        } else if deleted > 0 {
            refreshFirstID()
        }
        return deleted
    }
}

/// Sizes of Redis's listpack encoding, so nodes fill up when Redis's would.
enum Listpack {
    static func size(ofInteger value: Int64) -> Int {
        let body: Int
        switch value {
        case 0...127: body = 1
        case -4096...4095: body = 2
        case Int64(Int16.min)...Int64(Int16.max): body = 3
        case -(1 << 23)...((1 << 23) - 1): body = 4
        case Int64(Int32.min)...Int64(Int32.max): body = 5
        default: body = 9
        }
        return body + backlength(body)
    }

    static func size(ofString bytes: [UInt8]) -> Int {
        if let first = bytes.first, bytes.count <= 20, first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
           let value = Commands.integer(bytes) {
            return size(ofInteger: Int64(value))
        }
        let body = bytes.count + (bytes.count < 64 ? 1 : bytes.count < 4096 ? 2 : 5)
        return body + backlength(body)
    }

    static func backlength(_ length: Int) -> Int {
        switch length {
        case ...127: 1
        case ..<16383: 2
        case ..<2_097_151: 3
        case ..<268_435_455: 4
        default: 5
        }
    }

    /// The header, the end byte and the master entry: count, deleted, field count, fields, 0.
    static func size(ofMaster fields: [[UInt8]]) -> Int {
        7 + 2 * size(ofInteger: 1) + size(ofInteger: Int64(fields.count)) + fields.reduce(0) { $0 + size(ofString: $1) } + size(ofInteger: 0)
    }

    /// One entry: flags, the ID as differences from the node's first, the fields (or only
    /// the values when the names are the master entry's), and its element count.
    static func size(ofEntry id: StreamID, master: StreamID, fields: [[UInt8]], masterFields: [[UInt8]]) -> Int {
        let sameFields = Stream.names(fields) == masterFields
        var total = size(ofInteger: 0)
        total += size(ofInteger: Int64(bitPattern: id.ms &- master.ms)) + size(ofInteger: Int64(bitPattern: id.seq &- master.seq))
        if sameFields {
            total += stride(from: 1, to: fields.count, by: 2).reduce(0) { $0 + size(ofString: fields[$1]) }
            total += size(ofInteger: Int64(3 + fields.count / 2))
        } else {
            total += size(ofInteger: Int64(fields.count / 2)) + fields.reduce(0) { $0 + size(ofString: $1) }
            total += size(ofInteger: Int64(4 + fields.count))
        }
        return total
    }
}
