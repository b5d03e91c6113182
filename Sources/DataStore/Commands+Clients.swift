import Foundation

/// CLIENT: the connections as Redis lists them, names, kills and unblocks.
extension Commands {
    static let clients: [String: Command] = [
        "client": one(-2) { (session, arguments) throws(CommandError) in
            let subcommand = arguments[0].text.lowercased()
            let rest = Array(arguments.dropFirst())
            func exactly(_ count: Int) throws(CommandError) {
                guard rest.count == count else { throw .arity("client|\(subcommand)") }
            }
            switch subcommand {
            case "setname":
                try exactly(1)
                // Redis refuses any byte outside '!'...'~'; an empty name clears it.
                guard rest[0].allSatisfy({ (33...126).contains($0) }) else {
                    throw CommandError(message: "ERR Client names cannot contain spaces, newlines or special characters.")
                }
                session.name = rest[0].isEmpty ? nil : rest[0].text
                return .ok
            case "getname":
                try exactly(0)
                return session.name.map { .bulk($0) } ?? .null
            case "id":
                try exactly(0)
                return .integer(session.id)
            case "info":
                try exactly(0)
                return .verbatim(session.clientLine + "\n")
            case "list":
                return .verbatim(try listed(session.store, rest).map { $0.clientLine + "\n" }.joined())
            case "kill":
                guard !rest.isEmpty else { throw .arity("client|kill") }
                return try kill(session, rest)
            case "unblock":
                guard rest.count == 1 || rest.count == 2 else { throw .arity("client|unblock") }
                return try unblock(session.store, rest)
            case "reply":
                try exactly(1)
                switch rest[0].text.lowercased() {
                case "on": session.repliesOff = false
                case "off": session.repliesOff = true
                case "skip": session.skipNextReply = !session.repliesOff
                default: throw .syntax
                }
                return .ok
            case "no-evict":
                // Nothing is evicted here (maxmemory is 0): the flag is accepted as Redis does.
                try exactly(1)
                guard ["on", "off"].contains(rest[0].text.lowercased()) else { throw .syntax }
                return .ok
            case "getredir":
                try exactly(0)
                return .integer(-1)   // no tracking
            case "help":
                return .array(clientHelp.map { .simpleString($0) })
            case "pause", "unpause", "tracking", "trackinginfo", "caching":
                throw CommandError(message: "ERR CLIENT \(subcommand.uppercased()) is not supported by the pulse data store")
            default:
                throw CommandError(message: "ERR unknown subcommand '\(arguments[0].text)'. Try CLIENT HELP.")
            }
        },
    ]

    /// HELLO [protover [AUTH username password] [SETNAME name]]: switches to RESP2 or
    /// RESP3 (then the reply is already in it), authenticates, names the connection,
    /// and says who answers. Nothing changes unless every option is right.
    static func hello(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        var version: Int?
        if let first = arguments.first {
            guard let number = integer(first) else {
                throw CommandError(message: "ERR Protocol version is not an integer or out of range")
            }
            guard number == 2 || number == 3 else { throw CommandError(message: "NOPROTO unsupported protocol version") }
            version = number
        }
        var credentials: (user: String, password: String)?
        var name: [UInt8]?
        var index = 1
        while index < arguments.count {
            let option = arguments[index].text
            switch option.lowercased() {
            case "auth" where index + 2 < arguments.count:
                credentials = (arguments[index + 1].text, arguments[index + 2].text)
                index += 3
            case "setname" where index + 1 < arguments.count:
                name = arguments[index + 1]
                index += 2
            default:
                throw CommandError(message: "ERR Syntax error in HELLO option '\(option)'")
            }
        }
        if let credentials {
            // One user, "default"; without a password configured it takes any (Redis's nopass).
            guard credentials.user == "default", session.store.password.map({ $0 == credentials.password }) ?? true else {
                throw CommandError(message: "WRONGPASS invalid username-password pair or user is disabled.")
            }
            session.authenticated = true
        }
        guard session.authenticated else {
            throw CommandError(message: "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
                               + "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
                               + "protocol version at the same time")
        }
        if let name {
            guard name.allSatisfy({ (33...126).contains($0) }) else {
                throw CommandError(message: "ERR Client names cannot contain spaces, newlines or special characters.")
            }
            session.name = name.isEmpty ? nil : name.text
        }
        if let version { session.resp3 = version == 3 }
        return .map([.bulk("server"), .bulk("redis"), .bulk("version"), .bulk("7.0.0"), .bulk("proto"), .integer(session.resp3 ? 3 : 2),
                     .bulk("id"), .integer(session.id), .bulk("mode"), .bulk("standalone"), .bulk("role"), .bulk("master"),
                     .bulk("modules"), .array([])])
    }

    /// The clients CLIENT LIST shows: all, or those of `TYPE t`, or those of `ID a b ...`.
    private static func listed(_ store: Store, _ options: [[UInt8]]) throws(CommandError) -> [Session] {
        let all = store.sessions.values.sorted { $0.id < $1.id }
        guard let option = options.first?.text.lowercased() else { return all }
        switch option {
        case "type" where options.count == 2:
            let type = try clientType(options[1])
            return all.filter { $0.matches(type: type) }
        case "id" where options.count >= 2:
            var ids: Set<Int> = []
            for text in options.dropFirst() {
                guard let id = integer(text), id > 0 else { throw CommandError(message: "ERR Invalid client ID") }
                ids.insert(id)
            }
            return all.filter { ids.contains($0.id) }
        default:
            throw .syntax
        }
    }

    /// A client type as CLIENT LIST and KILL take it (`slave` is `replica`'s old name).
    private static func clientType(_ text: [UInt8]) throws(CommandError) -> String {
        let type = text.text.lowercased()
        switch type {
        case "normal", "pubsub", "master": return type
        case "replica", "slave": return "replica"
        default: throw CommandError(message: "ERR Unknown client type '\(text.text)'")
        }
    }

    /// CLIENT KILL ADDR, or CLIENT KILL with filters (ID, TYPE, USER, ADDR, LADDR, SKIPME):
    /// the first answers OK or "No such client", the second how many it closed.
    private static func kill(_ session: Session, _ options: [[UInt8]]) throws(CommandError) -> RESPValue {
        let store = session.store
        if options.count == 1 {
            guard let target = store.sessions.values.first(where: { $0.address == options[0].text }) else {
                throw CommandError(message: "ERR No such client")
            }
            close(target, from: session)
            return .ok
        }
        guard options.count.isMultiple(of: 2) else { throw .syntax }
        var filters: [(Session) -> Bool] = []
        var skipMe = true
        for index in stride(from: 0, to: options.count, by: 2) {
            let value = options[index + 1]
            switch options[index].text.lowercased() {
            case "id":
                guard let id = integer(value), id > 0 else { throw CommandError(message: "ERR client-id should be greater than 0") }
                filters.append { $0.id == id }
            case "type":
                let type = try clientType(value)
                filters.append { $0.matches(type: type) }
            case "user":
                guard value.text == "default" else { throw CommandError(message: "ERR No such user '\(value.text)'") }
            case "addr":
                filters.append { $0.address == value.text }
            case "laddr":
                filters.append { $0.localAddress == value.text }
            case "skipme":
                switch value.text.lowercased() {
                case "yes": skipMe = true
                case "no": skipMe = false
                default: throw .syntax
                }
            default:
                throw .syntax
            }
        }
        let targets = store.sessions.values.filter { target in
            !(skipMe && target === session) && filters.allSatisfy { $0(target) }
        }
        for target in targets { close(target, from: session) }
        return .integer(targets.count)
    }

    /// Closes a client's connection; a client that closes itself gets its reply first.
    private static func close(_ target: Session, from session: Session) {
        if target === session {
            session.closeAfterReply = true
        } else {
            target.disconnect?()
        }
    }

    /// CLIENT UNBLOCK id [TIMEOUT|ERROR]: a client blocked in a blocking command is
    /// answered as if its time were up, or with an UNBLOCKED error. 1 if it was blocked.
    private static func unblock(_ store: Store, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        let id = try int(arguments[0])
        var reply = RESPValue.array(nil)
        if arguments.count == 2 {
            switch arguments[1].text.lowercased() {
            case "timeout": break
            case "error": reply = .error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
            default: throw CommandError(message: "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
            }
        }
        guard let target = store.sessions[id], target.blocked != nil else { return .integer(0) }
        if case .error(let message) = reply { store.stats.noteError(message) }
        target.unblock(with: reply)
        return .integer(1)
    }

    private static let clientHelp = [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETREDIR", "    Return the client ID we are redirecting to when tracking is enabled (always -1 here).",
        "GETNAME", "    Return the name of the current connection.",
        "ID", "    Return the ID of the current connection.",
        "INFO", "    Return information about the current client connection.",
        "KILL <ip:port>", "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are:",
        "    * ADDR <ip:port>", "      Kill connections made from the specified address",
        "    * LADDR <ip:port>", "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Kill connections by type.",
        "    * USER <username>", "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
        "LIST [options ...]", "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Return clients of specified type.",
        "    * ID <id> [<id> ...]", "      Return clients of the given ids.",
        "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
        "SETNAME <name>", "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
        "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
        "HELP", "    Prints this help.",
    ]
}

extension Session {
    /// Normal clients and subscribers; none here is a master or a replica.
    func matches(type: String) -> Bool {
        switch type {
        case "normal": !isSubscribed
        case "pubsub": isSubscribed
        default: false
        }
    }

    /// The flags CLIENT LIST shows, in Redis's order; N when there is none.
    var flags: String {
        var flags = ""
        if isSubscribed { flags += "P" }
        if queuedCount != nil { flags += "x" }
        if blocked != nil { flags += "b" }
        if watchedKeyChanged { flags += "d" }
        if closeAfterReply { flags += "c" }
        return flags.isEmpty ? "N" : flags
    }

    /// This client as one line of CLIENT LIST, with Redis 7.0's fields in its order.
    /// The file descriptor is not known to the event loop's channel: -1.
    var clientLine: String {
        let now = Store.now()
        let (input, output) = (pendingInput(), pendingOutput())
        return "id=\(id) addr=\(address) laddr=\(localAddress) fd=-1 name=\(name ?? "") age=\((now - createdAt) / 1000) "
            + "idle=\((now - lastInteraction) / 1000) flags=\(flags) db=\(database) sub=\(channels.count) psub=\(patterns.count) "
            + "ssub=0 multi=\(queuedCount ?? -1) qbuf=\(input) qbuf-free=0 argv-mem=0 multi-mem=0 rbs=\(input) rbp=\(input) "
            + "obl=0 oll=0 omem=\(output) tot-mem=\(input + output) events=r cmd=\(lastCommand) user=default redir=-1 resp=2"
    }
}
