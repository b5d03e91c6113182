extension Commands {
    /// A consumer group's pending entries listed and taken over by another consumer.
    static let streamClaims: [String: Command] = [
        "xpending": one(-3) { (session, arguments) throws(CommandError) in try pending(session, arguments) },
        "xclaim": one(-6) { (session, arguments) throws(CommandError) in try claim(session, arguments) },
        "xautoclaim": one(-6) { (session, arguments) throws(CommandError) in try autoClaim(session, arguments) },
    ]

    /// The stream and group a command works on, or Redis's NOGROUP error.
    static func groupedStream(_ session: Session, _ arguments: [[UInt8]], suffix: String = "") throws(CommandError) -> (Stream, ConsumerGroup) {
        guard let stream = try session.stream(arguments[0]), let group = stream.groups[arguments[1]] else {
            throw CommandError(message: "NOGROUP No such key '\(arguments[0].text)' or consumer group '\(arguments[1].text)'\(suffix)")
        }
        return (stream, group)
    }

    /// XPENDING key group: a summary; XPENDING key group [IDLE ms] start end count [consumer]: the entries.
    static func pending(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        guard arguments.count == 2 || (5...8).contains(arguments.count) else { throw .syntax }
        var minimumIdle = 0, count = 0, start = StreamID.zero, end = StreamID.max
        var consumer: [UInt8]?
        if arguments.count >= 5 {
            var at = 2
            if arguments[2].text.uppercased() == "IDLE" {
                minimumIdle = try int(arguments[3])
                guard arguments.count >= 7 else { throw .syntax }
                at += 2
            }
            count = max(0, try int(arguments[at + 2]))
            start = try StreamID.start(arguments[at])
            end = try StreamID.end(arguments[at + 1])
            if at + 3 < arguments.count { consumer = arguments[at + 3] }
        }
        let (_, group) = try groupedStream(session, arguments)
        guard arguments.count >= 5 else {
            let ids = group.pendingIDs
            guard let first = ids.first, let last = ids.last else { return .array([.integer(0), .null, .null, .array(nil)]) }
            let owners = group.consumers.filter { !$0.value.pending.isEmpty }.sorted { ConsumerGroup.byName($0.key, $1.key) }
            return .array([.integer(ids.count), first.reply, last.reply,
                           .array(owners.map { .array([.bulkString($0.key), .bulk(String($0.value.pending.count))]) })])
        }
        let ids: [StreamID]
        if let consumer {
            guard let owner = group.consumers[consumer] else { return .array([]) }
            ids = owner.pending.sorted()
        } else {
            ids = group.pendingIDs
        }
        let now = Int64(session.now)
        var found: [RESPValue] = []
        for id in ids where id >= start && id <= end {
            guard found.count < count else { break }
            guard let entry = group.pending[id] else { continue }
            let idle = now &- entry.deliveryTime
            if minimumIdle != 0, idle < minimumIdle { continue }
            found.append(.array([id.reply, .bulkString(entry.consumer), .integer(Int(max(0, idle))), .integer(Int(truncatingIfNeeded: entry.deliveryCount))]))
        }
        return .array(found)
    }

    /// XCLAIM's words after the IDs.
    struct ClaimOptions {
        var deliveryTime: Int64 = -1
        var retryCount = -1
        var force = false, justID = false
        var lastID = StreamID.zero

        init(_ words: ArraySlice<[UInt8]>, now: Int64) throws(CommandError) {
            var index = words.startIndex
            func number(_ name: String) throws(CommandError) -> Int {
                guard let value = integer(words[index]) else { throw CommandError(message: "ERR Invalid \(name) option argument for XCLAIM") }
                return value
            }
            while index < words.endIndex {
                let more = words.endIndex - 1 - index
                let word = words[index].text.uppercased()
                index += 1
                switch word {
                case "FORCE": force = true
                case "JUSTID": justID = true
                case "IDLE" where more > 0: deliveryTime = now &- Int64(try number("IDLE")); index += 1
                case "TIME" where more > 0: deliveryTime = Int64(try number("TIME")); index += 1
                case "RETRYCOUNT" where more > 0: retryCount = try number("RETRYCOUNT"); index += 1
                case "LASTID" where more > 0: lastID = try StreamID.strict(words[index]); index += 1
                default: throw CommandError(message: "ERR Unrecognized XCLAIM option '\(words[index - 1].text)'")
                }
            }
            if deliveryTime < 0 || deliveryTime > now { deliveryTime = now }
        }
    }

    /// XCLAIM key group consumer min-idle-time id... [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]
    static func claim(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        _ = try groupedStream(session, arguments)
        guard let idle = integer(arguments[3]) else { throw CommandError(message: "ERR Invalid min-idle-time argument for XCLAIM") }
        let minimumIdle = max(0, idle)
        var ids: [StreamID] = []
        var index = 4
        while index < arguments.count, let id = try? StreamID.strict(arguments[index]) {
            ids.append(id)
            index += 1
        }
        let now = session.now
        let options = try ClaimOptions(arguments[index...], now: now)
        let (groupName, consumer) = (arguments[1], arguments[2])
        return .array(try session.mutateStream(arguments[0], changed: { _ in false }) { stream in
            guard var group = stream.groups[groupName] else { return [] }
            if options.lastID > group.lastID { group.lastID = options.lastID }
            var claimed: [RESPValue] = []
            for id in ids {
                guard let entry = stream.entry(id) else {
                    _ = group.acknowledge(id)
                    continue
                }
                var count: UInt64
                if let existing = group.pending[id] {
                    if minimumIdle > 0, now &- existing.deliveryTime < minimumIdle { continue }
                    count = existing.deliveryCount
                } else if options.force {
                    count = 1
                } else {
                    continue
                }
                if group.touchConsumer(consumer, now: now) { session.notify(.streams, "xgroup-createconsumer", arguments[0]) }
                if options.retryCount >= 0 { count = UInt64(options.retryCount) } else if !options.justID { count &+= 1 }
                group.assign(id, to: consumer, time: options.deliveryTime, count: count)
                claimed.append(options.justID ? id.reply : render(entry))
            }
            stream.groups[groupName] = group
            return claimed
        })
    }

    /// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]: claims
    /// what has been idle long enough, from `start` on; answers where to go on from,
    /// what it claimed and the pending IDs it dropped because their entries are gone.
    static func autoClaim(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        guard let idle = integer(arguments[3]) else { throw CommandError(message: "ERR Invalid min-idle-time argument for XAUTOCLAIM") }
        let minimumIdle = max(0, idle)
        let start = try StreamID.start(arguments[4])
        var count = 100, justID = false
        var index = 5
        while index < arguments.count {
            switch arguments[index].text.uppercased() {
            case "COUNT" where index + 1 < arguments.count:
                guard let number = integer(arguments[index + 1]), (1...(Int.max / 16)).contains(number) else {
                    throw CommandError(message: "ERR COUNT must be > 0")
                }
                count = number
                index += 1
            case "JUSTID": justID = true
            default: throw .syntax
            }
            index += 1
        }
        _ = try groupedStream(session, arguments)
        let (groupName, consumer, now) = (arguments[1], arguments[2], session.now)
        return try session.mutateStream(arguments[0], changed: { _ in false }) { stream in
            guard var group = stream.groups[groupName] else { return .array(nil) }
            let ids = group.pendingIDs.filter { $0 >= start }
            var (position, attempts) = (0, count * 10)
            var claimed: [RESPValue] = [], deleted: [RESPValue] = []
            while attempts > 0, count > 0, position < ids.count {
                attempts -= 1
                let id = ids[position]
                position += 1
                guard let entry = stream.entry(id) else {
                    _ = group.acknowledge(id)
                    deleted.append(id.reply)
                    count -= 1
                    continue
                }
                guard let existing = group.pending[id], minimumIdle == 0 || now &- existing.deliveryTime >= minimumIdle else { continue }
                if group.touchConsumer(consumer, now: now) { session.notify(.streams, "xgroup-createconsumer", arguments[0]) }
                group.assign(id, to: consumer, time: now, count: justID ? existing.deliveryCount : existing.deliveryCount &+ 1)
                claimed.append(justID ? id.reply : render(entry))
                count -= 1
            }
            stream.groups[groupName] = group
            let next = position < ids.count ? ids[position] : .zero
            return .array([next.reply, .array(claimed), .array(deleted)])
        }
    }
}
