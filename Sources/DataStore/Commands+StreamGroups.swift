extension Commands {
    /// Consumer groups made, moved and removed, and their deliveries acknowledged.
    static let streamGroups: [String: Command] = [
        "xgroup": one(-2) { (session, arguments) throws(CommandError) in
            let name = arguments[0].text.lowercased()
            try checkSubcommand("xgroup", arguments, arities: xgroupArities)
            if name == "help" { return .array(help("XGROUP", xgroupHelp)) }
            return try group(session, name, arguments)
        },
        "xack": one(-4) { (session, arguments) throws(CommandError) in
            guard let stream = try session.stream(arguments[0]), stream.groups[arguments[1]] != nil else { return .integer(0) }
            var ids: [StreamID] = []
            for argument in arguments.dropFirst(2) { ids.append(try StreamID.strict(argument)) }
            return .integer(try session.mutateStream(arguments[0], changed: { _ in false }) { stream in
                ids.filter { stream.groups[arguments[1]]?.acknowledge($0) == true }.count
            })
        },
    ]

    /// Subcommands and their arity, counting the command and the subcommand (negative: at least).
    static let xgroupArities = ["create": -5, "setid": -5, "destroy": 4, "createconsumer": 5, "delconsumer": 5, "help": 2]

    static let xgroupHelp = [
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
    ]

    /// A container command's subcommand as Redis 7.0 checks it: known, and with its arity.
    static func checkSubcommand(_ command: String, _ arguments: [[UInt8]], arities: [String: Int]) throws(CommandError) {
        let name = arguments[0].text.lowercased()
        guard let arity = arities[name] else {
            throw CommandError(message: "ERR unknown subcommand '\(arguments[0].text)'. Try \(command.uppercased()) HELP.")
        }
        let count = arguments.count + 1
        guard arity >= 0 ? count == arity : count >= -arity else { throw .arity("\(command)|\(name)") }
    }

    /// A HELP reply: Redis's first line, the lines, and its own last two.
    static func help(_ command: String, _ lines: [String]) -> [RESPValue] {
        ["\(command) <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"].map(RESPValue.simpleString)
            + lines.map(RESPValue.simpleString) + [.simpleString("HELP"), .simpleString("    Prints this help.")]
    }

    static func subcommandSyntax(_ command: String, _ subcommand: [UInt8]) -> CommandError {
        CommandError(message: "ERR unknown subcommand or wrong number of arguments for '\(subcommand.text)'. Try \(command) HELP.")
    }

    /// XGROUP's words after `key group id`: MKSTREAM (CREATE) and ENTRIESREAD (CREATE and SETID).
    struct GroupOptions {
        var makeStream = false
        var entriesRead = ConsumerGroup.unknownEntriesRead

        init(_ name: String, _ arguments: [[UInt8]]) throws(CommandError) {
            var index = 4
            while index < arguments.count {
                let word = arguments[index].text.uppercased()
                if name == "create", word == "MKSTREAM" {
                    makeStream = true
                    index += 1
                } else if name == "create" || name == "setid", word == "ENTRIESREAD", index + 1 < arguments.count {
                    entriesRead = Int64(try int(arguments[index + 1]))
                    guard entriesRead >= 0 || entriesRead == ConsumerGroup.unknownEntriesRead else {
                        throw CommandError(message: "ERR value for ENTRIESREAD must be positive or -1")
                    }
                    index += 2
                } else {
                    throw subcommandSyntax("XGROUP", arguments[0])
                }
            }
        }
    }

    /// XGROUP CREATE, SETID, DESTROY, CREATECONSUMER and DELCONSUMER, checked in the order of Redis's xgroupCommand.
    static func group(_ session: Session, _ name: String, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        let options = try GroupOptions(name, arguments)
        let (makeStream, entriesRead) = (options.makeStream, options.entriesRead)
        let (key, groupName) = (arguments[1], arguments[2])
        let existing = try session.stream(key)
        if !makeStream {
            guard let existing else {
                throw CommandError(message: "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
                    + "use the MKSTREAM option to create an empty stream automatically.")
            }
            if existing.groups[groupName] == nil, ["setid", "createconsumer", "delconsumer"].contains(name) {
                throw CommandError(message: "NOGROUP No such consumer group '\(groupName.text)' for key name '\(key.text)'")
            }
        }
        let now = session.now
        switch name {
        case "create" where arguments.count <= 7:
            let id = arguments[3] == [UInt8(ascii: "$")] ? existing?.lastID ?? .zero : try StreamID.strict(arguments[3])
            let created = try session.mutateStream(key, changed: { _ in false }) { stream in
                guard stream.groups[groupName] == nil else { return false }
                stream.groups[groupName] = ConsumerGroup(lastID: id, entriesRead: entriesRead)
                return true
            }
            guard created else { throw CommandError(message: "BUSYGROUP Consumer Group name already exists") }
            session.notify(.streams, "xgroup-create", key)
            return .ok
        case "setid" where arguments.count == 4 || arguments.count == 6:
            let id = arguments[3] == [UInt8(ascii: "$")] ? existing?.lastID ?? .zero : try StreamID.parse(arguments[3]).id
            try session.mutateStream(key, changed: { false }) { stream in
                stream.groups[groupName]?.lastID = id
                stream.groups[groupName]?.entriesRead = entriesRead
            }
            session.notify(.streams, "xgroup-setid", key)
            return .ok
        case "destroy":
            guard existing?.groups[groupName] != nil else { return .integer(0) }
            try session.mutateStream(key, changed: { false }, wakes: true) { stream in stream.groups[groupName] = nil }
            session.notify(.streams, "xgroup-destroy", key)
            return .integer(1)
        case "createconsumer":
            let created = try session.mutateStream(key, changed: { _ in false }) { stream in
                guard stream.groups[groupName]?.consumers[arguments[3]] == nil else { return 0 }
                stream.groups[groupName]?.touchConsumer(arguments[3], now: now)
                return 1
            }
            if created == 1 { session.notify(.streams, "xgroup-createconsumer", key) }
            return .integer(created)
        case "delconsumer":
            let pending = try session.mutateStream(key, changed: { _ in false }) { stream -> Int? in
                guard let consumer = stream.groups[groupName]?.consumers.removeValue(forKey: arguments[3]) else { return nil }
                for id in consumer.pending { stream.groups[groupName]?.pending[id] = nil }
                return consumer.pending.count
            }
            if pending != nil { session.notify(.streams, "xgroup-delconsumer", key) }
            return .integer(pending ?? 0)
        default:
            throw subcommandSyntax("XGROUP", arguments[0])
        }
    }
}
