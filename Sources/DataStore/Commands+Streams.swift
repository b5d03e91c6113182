extension Commands {
    /// Streams written, read by range, trimmed and deleted from; XREAD and the consumer
    /// groups are in Commands+StreamReads and Commands+StreamGroups.
    static let streams: [String: Command] = [
        "xadd": one(-5) { (session, arguments) throws(CommandError) in try add(session, arguments) },
        "xlen": one(2) { (session, arguments) throws(CommandError) in .integer(try session.stream(arguments[0])?.length ?? 0) },
        "xrange": one(-4) { (session, arguments) throws(CommandError) in try range(session, arguments, reverse: false) },
        "xrevrange": one(-4) { (session, arguments) throws(CommandError) in try range(session, arguments, reverse: true) },
        "xdel": one(-3) { (session, arguments) throws(CommandError) in
            guard try session.stream(arguments[0]) != nil else { return .integer(0) }
            var ids: [StreamID] = []
            for argument in arguments.dropFirst() { ids.append(try StreamID.strict(argument)) }
            let deleted = try session.mutateStream(arguments[0], changed: { $0 > 0 }) { stream in
                var deleted = 0, first = false
                for id in ids where stream.delete(id) {
                    if id == stream.firstID { first = true }
                    if id > stream.maxDeletedID { stream.maxDeletedID = id }
                    deleted += 1
                }
                if deleted > 0, stream.length == 0 || first { stream.refreshFirstID() }
                return deleted
            }
            if deleted > 0 { session.notify(.streams, "xdel", arguments[0]) }
            return .integer(deleted)
        },
        "xtrim": one(-4) { (session, arguments) throws(CommandError) in
            let options = try TrimOptions(arguments, adding: false)
            guard try session.stream(arguments[0]) != nil, let trim = options.trim else { return .integer(0) }
            let trimmed = try session.mutateStream(arguments[0], changed: { $0 > 0 }) { $0.trim(trim) }
            if trimmed > 0 { session.notify(.streams, "xtrim", arguments[0]) }
            return .integer(trimmed)
        },
        "xsetid": one(-3) { (session, arguments) throws(CommandError) in try setID(session, arguments) },
    ]

    /// The words of XADD and XTRIM before the ID (Redis's streamParseAddOrTrimArgsOrReply).
    struct TrimOptions {
        var trim: Stream.Trim?
        var noMakeStream = false
        /// XADD: where the ID is, and what it asked for (nil for `*`).
        var idIndex = 0
        var id: StreamID.Parsed?

        init(_ arguments: [[UInt8]], adding: Bool) throws(CommandError) {
            var strategy: Stream.Trim.Strategy?
            var approximate = false, limit = 0, limitGiven = false
            var index = 1
            words: while index < arguments.count {
                let more = arguments.count - 1 - index
                let word = arguments[index].text.lowercased()
                switch word {
                case "*" where adding && arguments[index] == [UInt8(ascii: "*")]:
                    break words
                case "maxlen" where more > 0, "minid" where more > 0:
                    guard strategy == nil else {
                        throw CommandError(message: "ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
                    }
                    approximate = false
                    let next = arguments[index + 1]
                    if more >= 2, next == [UInt8(ascii: "~")] || next == [UInt8(ascii: "=")] {
                        approximate = next == [UInt8(ascii: "~")]
                        index += 1
                    }
                    if word == "maxlen" {
                        let maximum = try int(arguments[index + 1])
                        guard maximum >= 0 else { throw CommandError(message: "ERR The MAXLEN argument must be >= 0.") }
                        strategy = .maxLength(maximum)
                    } else {
                        strategy = .minimumID(try StreamID.strict(arguments[index + 1]))
                    }
                    index += 1
                case "limit" where more > 0:
                    limit = try int(arguments[index + 1])
                    guard limit >= 0 else { throw CommandError(message: "ERR The LIMIT argument must be >= 0.") }
                    limitGiven = true
                    index += 1
                case "nomkstream" where adding:
                    noMakeStream = true
                default:
                    guard adding else { throw .syntax }
                    id = try StreamID.parse(arguments[index], strict: true, allowAutoSequence: true)
                    break words
                }
                index += 1
            }
            idIndex = index
            if limit != 0, strategy == nil {
                throw CommandError(message: "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
            }
            if !adding, strategy == nil { throw CommandError(message: "ERR syntax error, XTRIM must be called with a trimming strategy") }
            if limitGiven, !approximate {
                throw CommandError(message: "ERR syntax error, LIMIT cannot be used without the special ~ option")
            }
            // Without LIMIT, `~` does at most 100 nodes' worth of work, as Redis does.
            if !limitGiven { limit = approximate ? 100 * Stream.nodeMaxEntries : 0 }
            trim = strategy.map { Stream.Trim(strategy: $0, approximate: approximate, limit: limit) }
        }
    }

    /// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value...
    static func add(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        let options = try TrimOptions(arguments, adding: true)
        let fields = Array(arguments.dropFirst(options.idIndex + 1))
        guard fields.count >= 2, fields.count % 2 == 0 else { throw .arity("xadd") }
        if let id = options.id, id.sequenceGiven, id.id == .zero {
            throw CommandError(message: "ERR The ID specified in XADD must be greater than 0-0")
        }
        let key = arguments[0]
        guard try session.stream(key) != nil || !options.noMakeStream else { return .null }
        var trimmed = 0
        let reply = try session.mutateStream(key, wakes: true) { (stream) throws(CommandError) in
            guard stream.lastID != .max else {
                throw CommandError(message: "ERR The stream has exhausted the last possible ID, unable to add more items")
            }
            guard fields.reduce(0, { $0 + $1.count }) <= 1 << 30 else { throw CommandError(message: "ERR Elements are too large to be stored") }
            let id: StreamID
            do {
                id = try stream.append(fields, id: options.id, now: UInt64(max(0, session.now)))
            } catch {
                throw CommandError(message: "ERR The ID specified in XADD is equal or smaller than the target stream top item")
            }
            if let trim = options.trim { trimmed = stream.trim(trim) }
            return id.reply
        }
        session.notify(.streams, "xadd", key)
        if trimmed > 0 { session.notify(.streams, "xtrim", key) }
        return reply
    }

    /// XRANGE key start end [COUNT n] and XREVRANGE key end start [COUNT n].
    static func range(_ session: Session, _ arguments: [[UInt8]], reverse: Bool) throws(CommandError) -> RESPValue {
        let start = try StreamID.start(reverse ? arguments[2] : arguments[1])
        let end = try StreamID.end(reverse ? arguments[1] : arguments[2])
        var count = -1
        var index = 3
        while index < arguments.count {
            guard arguments[index].text.uppercased() == "COUNT", index + 1 < arguments.count else { throw .syntax }
            count = max(0, try int(arguments[index + 1]))
            index += 2
        }
        guard let stream = try session.stream(arguments[0]) else { return .array([]) }
        // COUNT 0 (or negative) is a null array in Redis 7.0.
        guard count != 0 else { return .array(nil) }
        return .array(stream.range(from: start, to: end, reverse: reverse, count: max(0, count)).map(render))
    }

    static func render(_ entry: Stream.Entry) -> RESPValue { .array([entry.id.reply, bulkArray(entry.fields)]) }

    /// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
    static func setID(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        let id = try StreamID.strict(arguments[1])
        var entriesAdded: Int?
        var maxDeleted = StreamID.zero
        var index = 2
        while index < arguments.count {
            guard index + 1 < arguments.count else { throw .syntax }
            switch arguments[index].text.uppercased() {
            case "ENTRIESADDED":
                let added = try int(arguments[index + 1])
                guard added >= 0 else { throw CommandError(message: "ERR entries_added must be positive") }
                entriesAdded = added
            case "MAXDELETEDID":
                maxDeleted = try StreamID.strict(arguments[index + 1])
                guard id >= maxDeleted else {
                    throw CommandError(message: "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
                }
            default: throw .syntax
            }
            index += 2
        }
        guard let current = try session.stream(arguments[0]) else { throw .noSuchKey }
        if current.length > 0 {
            guard id >= current.lastLiveID else {
                throw CommandError(message: "ERR The ID specified in XSETID is smaller than the target stream top item")
            }
            if let entriesAdded, current.length > entriesAdded {
                throw CommandError(message: "ERR The entries_added specified in XSETID is smaller than the target stream length")
            }
        }
        try session.mutateStream(arguments[0], changed: { false }) { stream in
            stream.lastID = id
            if let entriesAdded { stream.entriesAdded = UInt64(entriesAdded) }
            if maxDeleted != .zero { stream.maxDeletedID = maxDeleted }
        }
        session.notify(.streams, "xsetid", arguments[0])
        return .ok
    }
}
