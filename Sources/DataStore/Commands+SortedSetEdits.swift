extension Commands {
    /// Sorted sets trimmed, popped, sampled and copied by range.
    static let sortedSetEdits: [String: Command] = [
        "zremrangebyrank": one(4) { (session, arguments) throws(CommandError) in
            let (start, stop) = (try int(arguments[1]), try int(arguments[2]))
            return try removeRange(session, arguments[0], "zremrangebyrank") { set in
                clamp(start, stop, count: set.count).map { Array(set.range($0)) } ?? []
            }
        },
        "zremrangebyscore": one(4) { (session, arguments) throws(CommandError) in
            guard let low = ScoreBound(arguments[1]), let high = ScoreBound(arguments[2]) else {
                throw CommandError(message: "ERR min or max is not a float")
            }
            return try removeRange(session, arguments[0], "zremrangebyscore") { $0.members(scoreFrom: low, to: high) }
        },
        "zremrangebylex": one(4) { (session, arguments) throws(CommandError) in
            guard let low = LexBound(arguments[1]), let high = LexBound(arguments[2]) else { throw lexRangeError }
            return try removeRange(session, arguments[0], "zremrangebylex") { $0.members(lexFrom: low, to: high) }
        },
        "zpopmin": one(-2) { (session, arguments) throws(CommandError) in try popExtreme(session, arguments, highest: false) },
        "zpopmax": one(-2) { (session, arguments) throws(CommandError) in try popExtreme(session, arguments, highest: true) },
        "zmscore": one(-3) { (session, arguments) throws(CommandError) in
            let set = try session.sortedSet(arguments[0])
            return .array(arguments.dropFirst().map { member in set?.score(of: member).map { .double($0) } ?? .null })
        },
        "zrandmember": one(-2) { (session, arguments) throws(CommandError) in try randomMembers(session, arguments) },
        "zrangestore": one(-5) { (session, arguments) throws(CommandError) in
            var options = RangeOptions()
            options.storing = true
            let (entries, _) = try rangeEntries(session, Array(arguments.dropFirst()), options)
            var result = SortedSet()
            for entry in entries { result.set(entry.member, score: entry.score) }
            storeResult(session, arguments[0], result, event: "zrangestore")
            return .integer(result.count)
        },
    ]

    /// Removes the members `chosen` picks; how many went.
    static func removeRange(_ session: Session, _ key: [UInt8], _ event: String,
                            _ chosen: (SortedSet) -> Entries) throws(CommandError) -> RESPValue {
        guard let set = try session.sortedSet(key) else { return .integer(0) }
        let doomed = chosen(set)
        guard !doomed.isEmpty else { return .integer(0) }
        try session.mutateSortedSet(key) { set in
            for entry in doomed { set.remove(entry.member) }
        }
        session.notify(.sortedSets, event, key)
        return .integer(doomed.count)
    }

    /// A STORE variant's result replaces the destination: its event, or `del` when the
    /// result is empty and a key was there.
    static func storeResult(_ session: Session, _ destination: [UInt8], _ result: SortedSet, event: String) {
        // Replaced in place, as Redis's setKey does (no `new` event, the expiry dropped).
        let existed = result.count == 0 ? session.db.delete(destination) : true
        if result.count > 0 { session.db.set(destination, .sortedSet(result)) }
        session.store.changes += 1
        if result.count > 0 {
            session.notify(.sortedSets, event, destination)
        } else if existed {
            session.notify(.generic, "del", destination)
        }
    }

    /// ZPOPMIN and ZPOPMAX key [count]: member, score, ... from the lowest (or highest).
    static func popExtreme(_ session: Session, _ arguments: [[UInt8]], highest: Bool) throws(CommandError) -> RESPValue {
        guard arguments.count <= 2 else { throw .syntax }
        var count = 1
        if arguments.count == 2 {
            guard let number = integer(arguments[1]), number >= 0 else {
                throw CommandError(message: "ERR value is out of range, must be positive")
            }
            count = number
        }
        guard try session.sortedSet(arguments[0]) != nil, count > 0 else { return .array([]) }
        let popped = try popSorted(session, arguments[0], highest: highest, count: count)
        // Without a count, RESP3 too answers one flat member-score pair (Redis 7.0).
        guard arguments.count == 2 else { return .array(popped.flatMap { [.bulkString($0.member), .double($0.score)] }) }
        return render(popped, withScores: true)
    }

    /// Takes up to `count` members from the low (or high) end of the sorted set at `key`, which must exist.
    static func popSorted(_ session: Session, _ key: [UInt8], highest: Bool, count: Int) throws(CommandError) -> Entries {
        let popped = try session.mutateSortedSet(key) { set in
            let taken = highest ? Array(set.range(max(0, set.count - count)...(set.count - 1)).reversed())
                : Array(set.range(0...(min(count, set.count) - 1)))
            for entry in taken { set.remove(entry.member) }
            return taken
        }
        if !popped.isEmpty { session.notify(.sortedSets, highest ? "zpopmax" : "zpopmin", key) }
        return popped
    }

    /// ZRANDMEMBER key [count [WITHSCORES]], as HRANDFIELD: distinct members for a
    /// positive count, repeats for a negative one, in random order.
    static func randomMembers(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        guard arguments.count > 1 else {
            return .bulkString((try session.sortedSet(arguments[0]))?.randomMember)
        }
        let count = try int(arguments[1])
        guard count != Int.min else {
            throw CommandError(message: "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        }
        guard arguments.count == 2 || (arguments.count == 3 && arguments[2].text.uppercased() == "WITHSCORES") else { throw .syntax }
        let withScores = arguments.count == 3
        if withScores, count < -(Int.max / 2) || count > Int.max / 2 { throw CommandError(message: "ERR value is out of range") }
        guard let set = try session.sortedSet(arguments[0]), count != 0 else { return .array([]) }
        let entries: Entries
        if count > 0 {
            entries = Array(set.range(0...(set.count - 1)).shuffled().prefix(count))
        } else {
            guard count >= -Commands.maximumRepeatedMembers else { throw CommandError(message: "ERR value is out of range") }
            entries = (0..<(-count)).compactMap { _ in set.element(at: Int.random(in: 0..<set.count)) }
        }
        return render(entries, withScores: withScores)
    }
}
