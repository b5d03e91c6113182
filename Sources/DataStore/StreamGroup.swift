/// A stream's consumer group: how far it has read, the entries it delivered that wait
/// for XACK (its pending entries list), and its consumers.
struct ConsumerGroup: Sendable, Equatable {
    /// Redis's SCG_INVALID_ENTRIES_READ: the group does not know how many it has read.
    static let unknownEntriesRead: Int64 = -1

    struct Pending: Sendable, Equatable {
        var consumer: [UInt8]
        var deliveryTime: Int64
        var deliveryCount: UInt64
    }

    struct Consumer: Sendable, Equatable {
        var seenTime: Int64
        var pending: Set<StreamID> = []
    }

    var lastID: StreamID
    var entriesRead: Int64
    var pending: [StreamID: Pending] = [:]
    var consumers: [[UInt8]: Consumer] = [:]

    /// Pending IDs in order (Redis keeps them in a radix tree).
    var pendingIDs: [StreamID] { pending.keys.sorted() }

    static func byName(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }

    /// Finds or creates a consumer; finding one counts as seeing it (SLC_DEFAULT).
    /// Returns whether it was created.
    @discardableResult
    mutating func touchConsumer(_ name: [UInt8], now: Int64) -> Bool {
        let created = consumers[name] == nil
        consumers[name, default: Consumer(seenTime: now)].seenTime = now
        return created
    }

    /// Gives `id` to `consumer` as delivered now, with `count` deliveries (moving it
    /// from another consumer that had it).
    mutating func assign(_ id: StreamID, to consumer: [UInt8], time: Int64, count: UInt64) {
        if let previous = pending[id]?.consumer, previous != consumer { consumers[previous]?.pending.remove(id) }
        pending[id] = Pending(consumer: consumer, deliveryTime: time, deliveryCount: count)
        consumers[consumer]?.pending.insert(id)
    }

    /// XACK of one ID: whether it was pending.
    mutating func acknowledge(_ id: StreamID) -> Bool {
        guard let entry = pending.removeValue(forKey: id) else { return false }
        consumers[entry.consumer]?.pending.remove(id)
        return true
    }
}

extension Stream {
    /// XREADGROUP with `>`: the entries after the group's last delivered one, which
    /// become its last and (without NOACK) pending for `consumer`.
    mutating func readNew(group name: [UInt8], consumer: [UInt8], count: Int, noAck: Bool, now: Int64) -> [Entry] {
        guard var group = groups[name], let start = group.lastID.successor else { return [] }
        let entries = range(from: start, to: .max, count: count)
        for entry in entries {
            if group.entriesRead != ConsumerGroup.unknownEntriesRead, !hasTombstones(from: entry.id) {
                group.entriesRead &+= 1
            } else if entriesAdded != 0 {
                group.entriesRead = estimatedEntriesRead(upTo: entry.id)
            }
            group.lastID = entry.id
            if !noAck { group.assign(entry.id, to: consumer, time: now, count: 1) }
        }
        groups[name] = group
        return entries
    }

    /// XREADGROUP with an ID: the consumer's own pending entries after it, each
    /// delivered once more; a deleted entry answers with no fields (nil).
    mutating func readHistory(group name: [UInt8], consumer: [UInt8], after id: StreamID, count: Int,
                              now: Int64) -> [(id: StreamID, entry: Entry?)] {
        guard var group = groups[name], let start = id.successor, let mine = group.consumers[consumer] else { return [] }
        var found: [(id: StreamID, entry: Entry?)] = []
        for pendingID in mine.pending.sorted() where pendingID >= start {
            if count > 0, found.count == count { break }
            let entry = self.entry(pendingID)
            if entry != nil {
                group.pending[pendingID]?.deliveryTime = now
                group.pending[pendingID]?.deliveryCount &+= 1
            }
            found.append((pendingID, entry))
        }
        groups[name] = group
        return found
    }

    /// Whether an entry between `start` and `end` was deleted (streamRangeHasTombstones).
    func hasTombstones(from start: StreamID = .zero, to end: StreamID = .max) -> Bool {
        guard length > 0, maxDeletedID != .zero, firstID <= maxDeletedID else { return false }
        return start <= maxDeletedID && maxDeletedID <= end
    }

    /// How many entries were added up to `id`, when that can be known
    /// (streamEstimateDistanceFromFirstEverEntry); -1 otherwise.
    func estimatedEntriesRead(upTo id: StreamID) -> Int64 {
        let added = Int64(bitPattern: entriesAdded)
        if entriesAdded == 0 { return 0 }
        if length == 0, id <= lastID { return added }
        if id == lastID { return added }
        if id > lastID { return ConsumerGroup.unknownEntriesRead }
        if maxDeletedID == .zero || maxDeletedID < firstID {
            if id < firstID { return added &- Int64(length) }
            if id == firstID { return added &- Int64(length) &+ 1 }
        }
        return ConsumerGroup.unknownEntriesRead
    }

    /// What the group has yet to read, nil when that cannot be known (streamReplyWithCGLag).
    func lag(of group: ConsumerGroup) -> Int64? {
        let added = Int64(bitPattern: entriesAdded)
        if entriesAdded == 0 { return 0 }
        if group.entriesRead != ConsumerGroup.unknownEntriesRead, !hasTombstones(from: group.lastID) {
            return added &- group.entriesRead
        }
        let read = estimatedEntriesRead(upTo: group.lastID)
        return read == ConsumerGroup.unknownEntriesRead ? nil : added &- read
    }
}
