import Foundation

/// INFO and CONFIG.
extension Commands {
    static let server: [String: Command] = [
        "info": one(-1) { session, arguments in
            .verbatim(session.store.info(Store.infoSections(arguments.map(\.text)), asker: session))
        },
        // The arbiter supervises this process and would start it again: a client may not stop it.
        "shutdown": one(-1) { (_, _) throws(CommandError) in
            throw CommandError(message: "ERR SHUTDOWN is refused: the pulse arbiter supervises this data store; "
                               + "stop it with `pulse ctl stop`")
        },
        "config": one(-2) { (session, arguments) throws(CommandError) in
            let subcommand = arguments[0].text.lowercased()
            let rest = Array(arguments.dropFirst())
            switch subcommand {
            case "get":
                guard !rest.isEmpty else { throw .arity("config|get") }
                return configGet(session, patterns: rest)
            case "set":
                guard rest.count >= 2 else { throw .arity("config|set") }
                guard rest.count.isMultiple(of: 2) else { throw .syntax }
                try configSet(session, rest)
                return .ok
            case "resetstat":
                guard rest.isEmpty else { throw .arity("config|resetstat") }
                let store = session.store
                store.stats.reset()
                store.stats.commandsAtReset = store.commandsProcessed
                for database in store.databases { database.expired = 0 }
                return .ok
            case "rewrite":
                guard rest.isEmpty else { throw .arity("config|rewrite") }
                throw CommandError(message: "ERR The server is running without a config file")
            case "help":
                return .array(configHelp.map { .simpleString($0) })
            default:
                throw CommandError(message: "ERR unknown subcommand '\(arguments[0].text)'. Try CONFIG HELP.")
            }
        },
    ]

    /// A configuration parameter: how it reads, and how a value is checked, giving
    /// what applies it (nil: it cannot be set, for the reason Redis gives).
    struct Parameter: Sendable {
        typealias Apply = (Session) -> Void
        let get: @Sendable (Session) -> String
        let set: (@Sendable (String) throws(ConfigError) -> Apply)?
        var refusal = "can't set immutable config"
    }

    /// Why a value was refused, in the words CONFIG SET's error ends with.
    struct ConfigError: Error { let reason: String }

    /// The parameters this store has, each doing what Redis's does; others are unknown to CONFIG.
    static let parameters: [String: Parameter] = [
        "requirepass": Parameter(get: { $0.store.password ?? "" }, set: { value in
            { $0.store.password = value.isEmpty ? nil : value }
        }),
        "save": Parameter(get: { session in
            session.store.saveRules.map { "\($0.seconds) \($0.changes)" }.joined(separator: " ")
        }, set: { value throws(ConfigError) in
            let words = value.split(separator: " ")
            let numbers = words.compactMap { Int($0) }.filter { $0 > 0 }
            guard numbers.count == words.count, numbers.count.isMultiple(of: 2) else {
                throw ConfigError(reason: "Invalid save parameters")
            }
            let rules = stride(from: 0, to: numbers.count, by: 2).map { SaveRule(seconds: numbers[$0], changes: numbers[$0 + 1]) }
            return { $0.store.saveRules = rules }
        }),
        "maxclients": Parameter(get: { "\($0.store.maxClients)" }, set: { value throws(ConfigError) in
            let count = try bounded(value, 1...4_294_967_295)
            return { $0.store.maxClients = count }
        }),
        "timeout": Parameter(get: { "\($0.store.idleTimeout)" }, set: { value throws(ConfigError) in
            let seconds = try bounded(value, 0...2_147_483_647)
            return { $0.store.idleTimeout = seconds }
        }),
        "databases": Parameter(get: { _ in "\(Store.databaseCount)" }, set: nil),
        "port": Parameter(get: { $0.localAddress.split(separator: ":").last.map(String.init) ?? "0" }, set: nil),
        "bind": Parameter(get: { session in
            String(session.localAddress[..<(session.localAddress.lastIndex(of: ":") ?? session.localAddress.endIndex)])
                .trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        }, set: nil),
        "dbfilename": Parameter(get: { session in
            session.store.snapshotPath.map { URL(fileURLWithPath: $0).lastPathComponent } ?? ""
        }, set: nil, refusal: "can't set protected config"),
        "dir": Parameter(get: { session in
            session.store.snapshotPath.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
                ?? FileManager.default.currentDirectoryPath
        }, set: nil, refusal: "can't set protected config"),
        "appendonly": Parameter(get: { _ in "no" }, set: { value throws(ConfigError) in
            guard try yesOrNo(value) == false else { throw ConfigError(reason: "the pulse data store has no append-only file") }
            return { _ in }
        }),
        "maxmemory": Parameter(get: { _ in "0" }, set: { value throws(ConfigError) in
            guard let bytes = memory(value) else { throw ConfigError(reason: "argument must be a memory value") }
            guard bytes == 0 else { throw ConfigError(reason: "the pulse data store has no memory limit (maxmemory 0)") }
            return { _ in }
        }),
        "maxmemory-policy": Parameter(get: { _ in "noeviction" }, set: { value throws(ConfigError) in
            let policies = ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu",
                            "allkeys-random", "noeviction"]
            guard policies.contains(value.lowercased()) else {
                throw ConfigError(reason: "argument(s) must be one of the following: " + policies.joined(separator: ", "))
            }
            guard value.lowercased() == "noeviction" else {
                throw ConfigError(reason: "the pulse data store evicts nothing (noeviction)")
            }
            return { _ in }
        }),
        "notify-keyspace-events": Parameter(get: { $0.store.notifications.text }, set: { value throws(ConfigError) in
            guard let flags = KeyspaceEvents(parsing: value) else {
                throw ConfigError(reason: "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
            }
            return { $0.store.notifications = flags }
        }),
        "proto-max-bulk-len": Parameter(get: { "\($0.store.maxStringLength)" }, set: nil),
    ]

    private static func bounded(_ value: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let number = Int(value) else { throw ConfigError(reason: "argument couldn't be parsed into an integer") }
        guard range.contains(number) else {
            throw ConfigError(reason: "argument must be between \(range.lowerBound) and \(range.upperBound) inclusive")
        }
        return number
    }

    /// A memory amount as Redis's memtoull reads one: digits, then b, k, kb, m, mb, g or gb.
    private static func memory(_ value: String) -> UInt64? {
        let text = value.lowercased()
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let units: [String: UInt64] = ["": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1_000_000, "mb": 1 << 20,
                                       "g": 1_000_000_000, "gb": 1 << 30]
        guard !digits.isEmpty, let number = UInt64(digits), let unit = units[String(text.dropFirst(digits.count))] else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: unit)
        return overflow ? nil : bytes
    }

    private static func yesOrNo(_ value: String) throws(ConfigError) -> Bool {
        switch value.lowercased() {
        case "yes": return true
        case "no": return false
        default: throw ConfigError(reason: "argument must be 'yes' or 'no'")
        }
    }

    /// CONFIG GET with one or more glob patterns: each matching parameter once, with its
    /// value. A plain name is answered under the name as it was asked (Redis 7.0 does so).
    private static func configGet(_ session: Session, patterns: [[UInt8]]) -> RESPValue {
        var answered: Set<String> = []
        var reply: [RESPValue] = []
        for pattern in patterns {
            let lowered = pattern.text.lowercased()
            let isGlob = pattern.contains { [UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "[")].contains($0) }
            let names = isGlob ? parameters.keys.sorted().filter { Glob.matches(Array(lowered.utf8), Array($0.utf8)) }
                : parameters[lowered] == nil ? [] : [lowered]
            for name in names where answered.insert(name).inserted {
                reply += [.bulk(isGlob ? name : pattern.text), .bulk(parameters[name]?.get(session) ?? "")]
            }
        }
        return .map(reply)
    }

    /// CONFIG SET with one or more pairs: all are checked before any is applied.
    private static func configSet(_ session: Session, _ pairs: [[UInt8]]) throws(CommandError) {
        var seen: Set<String> = []
        var changes: [Parameter.Apply] = []
        for index in stride(from: 0, to: pairs.count, by: 2) {
            let name = pairs[index].text.lowercased()
            guard let parameter = parameters[name] else {
                throw CommandError(message: "ERR Unknown option or number of arguments for CONFIG SET - '\(pairs[index].text)'")
            }
            func failure(_ reason: String) -> CommandError {
                CommandError(message: "ERR CONFIG SET failed (possibly related to argument '\(name)') - \(reason)")
            }
            guard seen.insert(name).inserted else { throw failure("duplicate parameter") }
            guard let set = parameter.set else { throw failure(parameter.refusal) }
            do {
                changes.append(try set(pairs[index + 1].text))
            } catch {
                throw failure(error.reason)
            }
        }
        for apply in changes { apply(session) }
    }

    private static let configHelp = [
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
        "RESETSTAT", "    Reset statistics reported by the INFO command.",
        "REWRITE", "    Rewrite the configuration file.",
        "HELP", "    Prints this help.",
    ]
}
