extension Commands {
    /// OBJECT: what Redis 7.0 would answer for a value like this one. The store keeps
    /// no internal encodings, access times or frequencies, so ENCODING names the
    /// encoding Redis would choose for the value as it is now (Redis never converts
    /// back, and keeps strings written in place as "raw"), IDLETIME is 0, and FREQ
    /// answers as Redis does without an LFU policy.
    static let object: [String: Command] = [
        "object": one(-2) { (session, arguments) throws(CommandError) in
            let subcommand = arguments[0].text.lowercased()
            guard let arity = objectSubcommands[subcommand] else {
                throw CommandError(message: "ERR unknown subcommand '\(arguments[0].text)'. Try OBJECT HELP.")
            }
            guard arguments.count + 1 == arity else { throw .arity("object|\(subcommand)") }
            if subcommand == "help" { return .array(objectHelp.map { .simpleString($0) }) }
            guard let value = session.lookup(arguments[1]) else { return .null }
            switch subcommand {
            case "encoding": return .bulk(encoding(of: value))
            case "refcount":
                // Small integers are one shared object in Redis, with a refcount that never changes.
                if let bytes = value.stringBytes, let number = integer(bytes), (0..<10000).contains(number) { return .integer(Int(Int32.max)) }
                return .integer(1)
            case "idletime": return .integer(0)
            default:
                throw CommandError(message: "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that "
                    + "when switching between policies at runtime LRU and LFU data will take some time to adjust.")
            }
        },
    ]

    /// Subcommands and their arity, counting OBJECT and the subcommand.
    static let objectSubcommands = ["encoding": 3, "freq": 3, "idletime": 3, "refcount": 3, "help": 2]

    static let objectHelp = [
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ]

    /// The encoding Redis 7.0 gives a value of this size and content, with its
    /// default thresholds (128 entries of at most 64 bytes, 512 integers in a set).
    static func encoding(of value: StoreValue) -> String {
        switch value {
        case .string, .shortString:
            let bytes = value.stringBytes ?? []
            if bytes.count <= 20, integer(bytes) != nil { return "int" }
            return bytes.count <= 44 ? "embstr" : "raw"
        case .list:
            return "quicklist"
        case .hash(let box):
            let hash = box.value
            return hash.count <= 128 && hash.allSatisfy({ $0.key.bytes.count <= 64 && $0.value.count <= 64 }) ? "listpack" : "hashtable"
        case .set(let box):
            let set = box.value
            return set.count <= 512 && set.allSatisfy({ integer($0.bytes) != nil }) ? "intset" : "hashtable"
        case .sortedSet(let box):
            let set = box.value
            return set.count <= 128 && set.membersFit(within: 64) ? "listpack" : "skiplist"
        case .stream:
            return "stream"
        }
    }
}
