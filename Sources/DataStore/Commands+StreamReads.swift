extension Commands {
    /// XREAD and XREADGROUP: what is there now, or with BLOCK, what comes (BlockingPops.swift).
    static let streamReads: [String: Command] = [
        "xread": Command(arity: -4) { (session, arguments) throws(CommandError) in try read(session, arguments, grouped: false) },
        "xreadgroup": Command(arity: -7) { (session, arguments) throws(CommandError) in try read(session, arguments, grouped: true) },
    ]

    /// XREAD [COUNT n] [BLOCK ms] STREAMS key... id... and XREADGROUP GROUP group
    /// consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id..., read as Redis's
    /// xreadCommand reads them, errors in the same order.
    struct ReadRequest {
        var block: Double?
        var count = 0
        var keys: [[UInt8]] = []
        var ids: [[UInt8]] = []
        var group: StreamRead.Group?

        init(_ session: Session, _ arguments: [[UInt8]], grouped: Bool) throws(CommandError) {
            var index = 0
            var groupName: [UInt8]?, consumer: [UInt8] = [], noAck = false
            var streamsAt: Int?
            while index < arguments.count {
                let more = arguments.count - index - 1
                switch arguments[index].text.uppercased() {
                case "BLOCK" where more > 0:
                    index += 1
                    block = try Session.blockMilliseconds(arguments[index], now: session.now)
                case "COUNT" where more > 0:
                    index += 1
                    count = max(0, try int(arguments[index]))
                case "STREAMS" where more > 0:
                    guard more % 2 == 0 else {
                        throw CommandError(message: "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
                    }
                    streamsAt = index + 1
                    index = arguments.count
                    continue
                case "GROUP" where more >= 2:
                    guard grouped else { throw CommandError(message: "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.") }
                    (groupName, consumer) = (arguments[index + 1], arguments[index + 2])
                    index += 2
                case "NOACK":
                    guard grouped else { throw CommandError(message: "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.") }
                    noAck = true
                default:
                    throw .syntax
                }
                index += 1
            }
            guard let streamsAt else { throw .syntax }
            if grouped, groupName == nil { throw CommandError(message: "ERR Missing GROUP option for XREADGROUP") }
            let half = (arguments.count - streamsAt) / 2
            keys = Array(arguments[streamsAt..<(streamsAt + half)])
            ids = Array(arguments[(streamsAt + half)...])
            group = groupName.map { StreamRead.Group(name: $0, consumer: consumer, noAck: noAck) }
        }

        /// Each key's ID resolved: `$` is the stream's last ID, `>` (for a group) is StreamID.max.
        func resolve(_ session: Session) throws(CommandError) -> [StreamID] {
            var resolved: [StreamID] = []
            for (key, id) in zip(keys, ids) {
                let stream = try session.stream(key)
                if let group, stream?.groups[group.name] == nil {
                    throw CommandError(message: "NOGROUP No such key '\(key.text)' or consumer group '\(group.name.text)' in XREADGROUP with GROUP option")
                }
                switch id {
                case [UInt8(ascii: "$")]:
                    guard group == nil else {
                        throw CommandError(message: "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this "
                            + "consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
                    }
                    resolved.append(stream?.lastID ?? .zero)
                case [UInt8(ascii: ">")]:
                    guard group != nil else {
                        throw CommandError(message: "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
                    }
                    resolved.append(.max)
                default:
                    resolved.append(try StreamID.strict(id))
                }
            }
            return resolved
        }
    }

    static func read(_ session: Session, _ arguments: [[UInt8]], grouped: Bool) throws(CommandError) -> [RESPValue] {
        let request = try ReadRequest(session, arguments, grouped: grouped)
        let ids = try request.resolve(session)
        var served: [RESPValue] = []
        for (key, id) in zip(request.keys, ids) {
            guard let stream = try session.stream(key) else { continue }
            if let group = request.group {
                guard let lastDelivered = stream.groups[group.name]?.lastID else { continue }
                let history = id != .max
                guard history || (stream.length > 0 && stream.lastLiveID > lastDelivered) else { continue }
                served.append(try readGroup(session, key, group, after: history ? id : nil, count: request.count))
            } else if stream.length > 0, stream.lastLiveID > id, let start = id.successor {
                served.append(.array([.bulkString(key), .array(stream.range(from: start, to: .max, count: request.count).map(render))]))
            }
        }
        if !served.isEmpty { return [byKey(served)] }
        guard let seconds = request.block, session.mayBlock else { return [.array(nil)] }
        let read = StreamRead(after: Dictionary(zip(request.keys, ids)) { first, _ in first },
                              count: request.count == 0 ? 1000 : request.count, group: request.group)
        return session.block(on: request.keys, .stream(read), seconds: seconds)
    }

    /// One key's part of an XREADGROUP reply: the consumer's history after an ID, or
    /// (`after` nil) the entries no consumer of the group was given yet.
    static func readGroup(_ session: Session, _ key: [UInt8], _ group: StreamRead.Group, after id: StreamID?,
                          count: Int) throws(CommandError) -> RESPValue {
        let now = session.now
        let entries = try session.mutateStream(key, changed: { _ in false }) { stream -> [RESPValue] in
            if stream.groups[group.name]?.touchConsumer(group.consumer, now: now) == true {
                session.notify(.streams, "xgroup-createconsumer", key)
            }
            if let id {
                return stream.readHistory(group: group.name, consumer: group.consumer, after: id, count: count, now: now).map { found in
                    found.entry.map(render) ?? .array([found.id.reply, .array(nil)])
                }
            }
            return stream.readNew(group: group.name, consumer: group.consumer, count: count, noAck: group.noAck, now: now).map(render)
        }
        return .array([.bulkString(key), .array(entries)])
    }
}

extension Session {
    /// A blocked XREAD or XREADGROUP and a key that may have new entries: its reply,
    /// nil to wait on. A group that went away, or a stream that did, is an error.
    func serveStream(_ read: StreamRead, from key: [UInt8]) throws(CommandError) -> RESPValue? {
        guard case .stream(let box)? = db.get(key, now: now) else {
            return read.group == nil ? nil : .error("UNBLOCKED the stream key no longer exists")
        }
        let stream = box.value
        var after = read.after[key] ?? .zero
        if let group = read.group {
            guard let state = stream.groups[group.name] else {
                return .error("NOGROUP the consumer group this client was blocked on no longer exists")
            }
            after = state.lastID
        }
        guard stream.lastID > after, let start = after.successor else { return nil }
        let part: RESPValue
        if let group = read.group {
            part = try Commands.readGroup(self, key, group, after: nil, count: read.count)
        } else {
            part = .array([.bulkString(key), .array(stream.range(from: start, to: .max, count: read.count).map(Commands.render))])
        }
        return Commands.byKey([part])
    }
}

extension Commands {
    /// XREAD's streams, each `[key, entries]`: a map in RESP3.
    static func byKey(_ parts: [RESPValue]) -> RESPValue {
        .keyedArrays(parts.flatMap { part -> [RESPValue] in
            if case .array(let pair?) = part { pair } else { [part] }
        })
    }
}
