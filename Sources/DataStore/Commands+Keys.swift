extension Commands {
    static let keys: [String: Command] = [
        "del": one(-2) { session, arguments in
            deleteKeys(session, arguments)
        },
        "exists": one(-2) { session, arguments in .integer(arguments.filter { session.lookup($0) != nil }.count) },
        "expire": one(-3) { (session, arguments) throws(CommandError) in
            try expire(session, arguments, seconds: true, relative: true, command: "expire")
        },
        "pexpire": one(-3) { (session, arguments) throws(CommandError) in
            try expire(session, arguments, seconds: false, relative: true, command: "pexpire")
        },
        "expireat": one(-3) { (session, arguments) throws(CommandError) in
            try expire(session, arguments, seconds: true, relative: false, command: "expireat")
        },
        "pexpireat": one(-3) { (session, arguments) throws(CommandError) in
            try expire(session, arguments, seconds: false, relative: false, command: "pexpireat")
        },
        "ttl": one(2) { session, arguments in ttl(session, arguments[0], divisor: 1000) },
        "pttl": one(2) { session, arguments in ttl(session, arguments[0], divisor: 1) },
        "persist": one(2) { session, arguments in
            guard session.lookup(arguments[0]) != nil, session.db.expires[arguments[0]] != nil else {
                return .integer(0)
            }
            session.db.setExpiry(arguments[0], nil)
            session.store.changes += 1
            session.notify(.generic, "persist", arguments[0])
            return .integer(1)
        },
        "type": one(2) { session, arguments in .simpleString(session.lookup(arguments[0])?.typeName ?? "none") },
        "keys": one(2) { session, arguments in
            bulkArray(session.db.keys(now: session.now).filter { Glob.matches(arguments[0], $0) }.sorted { $0.lexicographicallyPrecedes($1) })
        },
        "scan": Command(arity: -2) { (session, arguments) throws(CommandError) in
            let keys = session.db.keys(now: session.now).sorted { $0.lexicographicallyPrecedes($1) }
            let typeName = { (key: [UInt8]) in session.db.get(key, now: session.now)?.typeName }
            return [try scan(keys, cursor: arguments[0], options: Array(arguments.dropFirst()), key: { $0 }, typeName: typeName) { [.bulkString($0)] }]
        },
        "rename": one(3) { (session, arguments) throws(CommandError) in try rename(session, arguments, onlyIfMissing: false) },
        "renamenx": one(3) { (session, arguments) throws(CommandError) in try rename(session, arguments, onlyIfMissing: true) },
        "copy": one(-3) { (session, arguments) throws(CommandError) in try copy(session, arguments) },
        "move": one(3) { (session, arguments) throws(CommandError) in try move(session, arguments) },
        "swapdb": one(3) { (session, arguments) throws(CommandError) in try swapDatabases(session, arguments) },
        "unlink": one(-2) { session, arguments in
            deleteKeys(session, arguments)
        },
        "touch": one(-2) { session, arguments in .integer(arguments.filter { session.lookup($0) != nil }.count) },
        "expiretime": one(2) { session, arguments in expireTime(session, arguments[0], milliseconds: false) },
        "pexpiretime": one(2) { session, arguments in expireTime(session, arguments[0], milliseconds: true) },
        "randomkey": one(1) { session, _ in .bulkString(session.db.keys(now: session.now).randomElement()) },
    ]

    /// RENAME and RENAMENX: the value moves with its expiry; a key renamed to itself
    /// is left alone (no write, nothing for WATCH), as in Redis.
    static func rename(_ session: Session, _ arguments: [[UInt8]], onlyIfMissing: Bool) throws(CommandError) -> RESPValue {
        let (source, destination) = (arguments[0], arguments[1])
        guard let value = session.lookup(source) else { throw .noSuchKey }
        if source == destination { return onlyIfMissing ? .integer(0) : .ok }
        if onlyIfMissing, session.lookup(destination) != nil { return .integer(0) }
        let expiry = session.db.expires[source]
        session.db.delete(destination)
        session.db.set(destination, value)
        if let expiry { session.db.setExpiry(destination, expiry) }
        session.db.delete(source)
        session.store.changes += 1
        session.notify(.generic, "rename_from", source)
        session.notify(.generic, "rename_to", destination)
        return onlyIfMissing ? .integer(1) : .ok
    }

    /// COPY source destination [DB index] [REPLACE], with the source's expiry.
    static func copy(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        var replace = false
        var target = session.database
        var index = 2
        while index < arguments.count {
            switch arguments[index].text.uppercased() {
            case "REPLACE": replace = true
            case "DB" where index + 1 < arguments.count:
                target = try databaseIndex(arguments[index + 1])
                index += 1
            default: throw .syntax
            }
            index += 1
        }
        let (source, destination) = (arguments[0], arguments[1])
        if target == session.database, source == destination {
            throw CommandError(message: "ERR source and destination objects are the same")
        }
        guard let value = session.lookup(source) else { return .integer(0) }
        let expiry = session.db.expires[source]
        let targetDB = session.store.databases[target]
        if targetDB.get(destination, now: session.now) != nil {
            guard replace else { return .integer(0) }
            targetDB.delete(destination)
        }
        targetDB.set(destination, value.copied)   // boxes of its own: the keys change apart
        if let expiry { targetDB.setExpiry(destination, expiry) }
        session.store.changes += 1
        session.store.notify(.generic, "copy_to", key: destination, database: target)
        return .integer(1)
    }

    /// A database number as Redis reads it: a C int, then one of the 16.
    static func databaseIndex(_ argument: [UInt8]) throws(CommandError) -> Int {
        guard let database = Int32(exactly: try int(argument)) else {
            throw CommandError(message: "ERR value is out of range, value must between -2147483648 and 2147483647")
        }
        guard (0..<Store.databaseCount).contains(Int(database)) else { throw CommandError(message: "ERR DB index is out of range") }
        return Int(database)
    }

    /// MOVE key db: the key and its expiry go to another database, unless a key of that
    /// name is there already.
    static func move(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        let target = try databaseIndex(arguments[1])
        guard target != session.database else { throw CommandError(message: "ERR source and destination objects are the same") }
        let key = arguments[0]
        guard let value = session.lookup(key) else { return .integer(0) }
        let destination = session.store.databases[target]
        guard destination.get(key, now: session.now) == nil else { return .integer(0) }
        let expiry = session.db.expires[key]
        destination.set(key, value)
        if let expiry { destination.setExpiry(key, expiry) }
        session.db.delete(key)
        session.store.changes += 1
        session.notify(.generic, "move_from", key)
        session.store.notify(.generic, "move_to", key: key, database: target)
        return .integer(1)
    }

    /// SWAPDB a b: the two databases trade their keys. Clients keep their numbers (so they
    /// see the other keys); WATCHed keys of both count as changed; blocked pops whose
    /// keys now hold lists are served.
    static func swapDatabases(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        func index(_ argument: [UInt8], _ which: String) throws(CommandError) -> Int {
            guard let number = integer(argument), let index = Int32(exactly: number) else {
                throw CommandError(message: "ERR invalid \(which) DB index")
            }
            guard (0..<Store.databaseCount).contains(Int(index)) else { throw CommandError(message: "ERR DB index is out of range") }
            return Int(index)
        }
        let (first, second) = (try index(arguments[0], "first"), try index(arguments[1], "second"))
        guard first != second else { return .ok }
        let store = session.store
        store.databases[first].swapContents(with: store.databases[second])
        store.changes += 1
        for database in [first, second] {
            for key in store.waiters.keys where key.database == database {
                if store.databases[database].get(key.key, now: session.now)?.wakesWaiters == true {
                    store.databases[database].keyReady?(key.key)
                }
            }
        }
        return .ok
    }

    /// EXPIRETIME and PEXPIRETIME: the absolute deadline, -1 without one, -2 without the key.
    static func expireTime(_ session: Session, _ key: [UInt8], milliseconds: Bool) -> RESPValue {
        guard session.lookup(key) != nil else { return .integer(-2) }
        guard let deadline = session.db.expires[key] else { return .integer(-1) }
        guard !milliseconds else { return .integer(Int(max(0, deadline))) }
        // Rounded to the nearest second, in unsigned arithmetic so Int64.max does not overflow.
        return .integer(Int((UInt64(max(0, deadline)) + 500) / 1000))
    }

    /// The deadline an EXPIRE-family command asks for, as Redis 7 computes it: any
    /// integer (a past one deletes the key), refused when the arithmetic overflows.
    static func expireTime(_ argument: [UInt8], seconds: Bool, from base: Int64, command: String) throws(CommandError) -> Int64 {
        let refused = CommandError(message: "ERR invalid expire time in '\(command)' command")
        let (milliseconds, tooBig) = Int64(try int(argument)).multipliedReportingOverflow(by: seconds ? 1000 : 1)
        let (deadline, overflow) = milliseconds.addingReportingOverflow(base)
        guard !tooBig, !overflow else { throw refused }
        return deadline
    }

    /// The EXPIRE family with Redis 7's NX, XX, GT and LT: set only when the key has
    /// no expiry, has one, or the new one is later or earlier (no expiry counts as
    /// later than any).
    static func expire(_ session: Session, _ arguments: [[UInt8]], seconds: Bool, relative: Bool,
                       command: String) throws(CommandError) -> RESPValue {
        var options = Set<String>()
        for option in arguments.dropFirst(2) {
            let name = option.text.uppercased()
            guard ["NX", "XX", "GT", "LT"].contains(name) else { throw CommandError(message: "ERR Unsupported option \(option.text)") }
            options.insert(name)
        }
        if options.contains("NX"), options.count > 1 {
            throw CommandError(message: "ERR NX and XX, GT or LT options at the same time are not compatible")
        }
        if options.contains("GT"), options.contains("LT") {
            throw CommandError(message: "ERR GT and LT options at the same time are not compatible")
        }
        let deadline = try expireTime(arguments[1], seconds: seconds, from: relative ? session.now : 0, command: command)
        let key = arguments[0]
        guard session.lookup(key) != nil else { return .integer(0) }
        let current = session.db.expires[key]
        if options.contains("NX"), current != nil { return .integer(0) }
        if options.contains("XX"), current == nil { return .integer(0) }
        if options.contains("GT"), deadline <= (current ?? .max) { return .integer(0) }
        if options.contains("LT"), let current, deadline >= current { return .integer(0) }
        return expire(session, key, at: deadline)
    }

    static func expire(_ session: Session, _ key: [UInt8], at deadline: Int64) -> RESPValue {
        guard session.lookup(key) != nil else { return .integer(0) }
        if deadline <= session.now {
            session.db.delete(key)
            session.notify(.generic, "del", key)
        } else {
            session.db.setExpiry(key, deadline)
            session.notify(.generic, "expire", key)
        }
        session.store.changes += 1
        return .integer(1)
    }

    /// DEL and UNLINK: how many of the keys there were; each deleted one is a `del` event.
    static func deleteKeys(_ session: Session, _ keys: [[UInt8]]) -> RESPValue {
        let removed = keys.filter { session.lookup($0) != nil && session.db.delete($0) }
        if !removed.isEmpty { session.store.changes += 1 }
        for key in removed { session.notify(.generic, "del", key) }
        return .integer(removed.count)
    }

    static func ttl(_ session: Session, _ key: [UInt8], divisor: Int64) -> RESPValue {
        guard session.lookup(key) != nil else { return .integer(-2) }
        guard let deadline = session.db.expires[key] else { return .integer(-1) }
        let remaining = deadline &- session.now
        return .integer(Int(divisor == 1 ? remaining : (remaining &+ 500) / divisor))
    }

    /// A cursor over a sorted snapshot: the cursor is the index of the next item.
    /// Stateless, so a client can resume it anywhere; items added meanwhile may be missed, as Redis allows.
    /// SCAN alone takes TYPE (`typeName` says an item's).
    static func scan<Item>(_ items: [Item], cursor: [UInt8], options: [[UInt8]], key: (Item) -> [UInt8],
                           typeName: ((Item) -> String?)? = nil, _ render: (Item) -> [RESPValue]) throws(CommandError) -> RESPValue {
        guard let start = Int(cursor.text), start >= 0 else { throw CommandError(message: "ERR invalid cursor") }
        var pattern: [UInt8]?
        var type: String?
        var count = 10
        var index = 0
        while index < options.count {
            switch options[index].text.uppercased() {
            case "MATCH" where index + 1 < options.count: pattern = options[index + 1]
            case "TYPE" where index + 1 < options.count && typeName != nil: type = options[index + 1].text.lowercased()
            case "COUNT" where index + 1 < options.count:
                count = try int(options[index + 1])
                guard count > 0 else { throw .syntax }
            default: throw .syntax
            }
            index += 2
        }
        let (sum, overflow) = start.addingReportingOverflow(count)
        let end = overflow ? items.count : min(items.count, sum)
        let page = start < items.count ? items[start..<end] : []
        let chosen = page.filter { item in
            (pattern.map { Glob.matches($0, key(item)) } ?? true) && (type.map { $0 == typeName?(item) } ?? true)
        }
        return .array([.bulk(end >= items.count ? "0" : String(end)), .array(chosen.flatMap(render))])
    }
}
