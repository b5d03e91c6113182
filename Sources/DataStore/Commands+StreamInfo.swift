extension Commands {
    /// XINFO STREAM, GROUPS and CONSUMERS, as Redis 7.0 answers: maps (flat arrays in RESP2). The store keeps no radix tree: radix-tree-nodes is counted from the
    /// keys one would hold.
    static let streamInfo: [String: Command] = [
        "xinfo": one(-2) { (session, arguments) throws(CommandError) in
            try checkSubcommand("xinfo", arguments, arities: ["consumers": 4, "groups": 3, "stream": -3, "help": 2])
            let name = arguments[0].text.lowercased()
            if name == "help" { return .array(help("XINFO", xinfoHelp)) }
            guard let stream = try session.stream(arguments[1]) else { throw .noSuchKey }
            switch name {
            case "consumers":
                guard let group = stream.groups[arguments[2]] else {
                    throw CommandError(message: "NOGROUP No such consumer group '\(arguments[2].text)' for key name '\(arguments[1].text)'")
                }
                let now = session.now
                return .array(group.consumers.sorted { ConsumerGroup.byName($0.key, $1.key) }.map { name, consumer in
                    .map([.bulk("name"), .bulkString(name), .bulk("pending"), .integer(consumer.pending.count),
                            .bulk("idle"), .integer(Int(max(0, now &- consumer.seenTime)))])
                })
            case "groups":
                return .array(stream.groups.sorted { ConsumerGroup.byName($0.key, $1.key) }.map { name, group in
                    .map([.bulk("name"), .bulkString(name), .bulk("consumers"), .integer(group.consumers.count),
                            .bulk("pending"), .integer(group.pending.count), .bulk("last-delivered-id"), group.lastID.reply]
                        + progress(stream, group))
                })
            default:
                return try streamInfo(stream, options: arguments[2...], subcommand: arguments[0])
            }
        },
    ]

    static let xinfoHelp = [
        "CONSUMERS <key> <groupname>", "    Show consumers of <groupname>.", "GROUPS <key>", "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]", "    Show information about the stream.",
    ]

    /// A group's entries-read and lag, each nil when it cannot be known.
    static func progress(_ stream: Stream, _ group: ConsumerGroup) -> [RESPValue] {
        [.bulk("entries-read"), group.entriesRead == ConsumerGroup.unknownEntriesRead ? .null : .integer(Int(group.entriesRead)),
         .bulk("lag"), stream.lag(of: group).map { .integer(Int($0)) } ?? .null]
    }

    /// XINFO STREAM key [FULL [COUNT count]].
    static func streamInfo(_ stream: Stream, options: ArraySlice<[UInt8]>, subcommand: [UInt8]) throws(CommandError) -> RESPValue {
        let syntax = subcommandSyntax("XINFO", subcommand)
        var count = 10
        let full = !options.isEmpty
        if full {
            let words = Array(options)
            guard words.count == 1 || words.count == 3, words[0].text.uppercased() == "FULL" else { throw syntax }
            if words.count == 3 {
                guard words[1].text.uppercased() == "COUNT" else { throw syntax }
                count = try int(words[2])
                if count < 0 { count = 10 }
            }
        }
        var reply: [RESPValue] = [
            .bulk("length"), .integer(stream.length), .bulk("radix-tree-keys"), .integer(stream.nodes.count),
            .bulk("radix-tree-nodes"), .integer(stream.radixTreeNodes), .bulk("last-generated-id"), stream.lastID.reply,
            .bulk("max-deleted-entry-id"), stream.maxDeletedID.reply, .bulk("entries-added"), .integer(Int(truncatingIfNeeded: stream.entriesAdded)),
            .bulk("recorded-first-entry-id"), stream.firstID.reply,
        ]
        guard full else {
            let first = stream.range(from: .zero, to: .max, count: 1).first
            let last = stream.range(from: .zero, to: .max, reverse: true, count: 1).first
            return .map(reply + [.bulk("groups"), .integer(stream.groups.count), .bulk("first-entry"), first.map(render) ?? .null,
                                   .bulk("last-entry"), last.map(render) ?? .null])
        }
        reply += [.bulk("entries"), .array(stream.range(from: .zero, to: .max, count: count).map(render)), .bulk("groups")]
        return .map(reply + [.array(stream.groups.sorted { ConsumerGroup.byName($0.key, $1.key) }.map { name, group in
            fullInfo(stream, name: name, group: group, count: count)
        })])
    }

    /// One group in XINFO STREAM FULL: its progress, pending entries and consumers, at most `count` of each list.
    static func fullInfo(_ stream: Stream, name: [UInt8], group: ConsumerGroup, count: Int) -> RESPValue {
        func limited(_ ids: [StreamID]) -> ArraySlice<StreamID> { count == 0 ? ids[...] : ids.prefix(count) }
        let pending = limited(group.pendingIDs).compactMap { id -> RESPValue? in
            guard let entry = group.pending[id] else { return nil }
            return .array([id.reply, .bulkString(entry.consumer), .integer(Int(entry.deliveryTime)),
                           .integer(Int(truncatingIfNeeded: entry.deliveryCount))])
        }
        let consumers = group.consumers.sorted { ConsumerGroup.byName($0.key, $1.key) }.map { consumerName, consumer -> RESPValue in
            let mine = limited(consumer.pending.sorted()).compactMap { id -> RESPValue? in
                group.pending[id].map { .array([id.reply, .integer(Int($0.deliveryTime)), .integer(Int(truncatingIfNeeded: $0.deliveryCount))]) }
            }
            return .map([.bulk("name"), .bulkString(consumerName), .bulk("seen-time"), .integer(Int(consumer.seenTime)),
                           .bulk("pel-count"), .integer(consumer.pending.count), .bulk("pending"), .array(mine)])
        }
        return .map([.bulk("name"), .bulkString(name), .bulk("last-delivered-id"), group.lastID.reply] + progress(stream, group)
            + [.bulk("pel-count"), .integer(group.pending.count), .bulk("pending"), .array(pending), .bulk("consumers"), .array(consumers)])
    }
}
