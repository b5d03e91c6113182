extension Commands {
    static let strings: [String: Command] = [
        "get": one(2) { (session, arguments) throws(CommandError) in
            switch session.lookup(arguments[0]) {
            case nil: return .null
            case .shortString(let short)?: return .shortBulk(short)
            case .string(let bytes)?: return .bulkString(bytes)
            default: throw .wrongType
            }
        },
        "set": one(-3) { (session, arguments) throws(CommandError) in
            let key = arguments[0]
            let options = try StringOptions(arguments.dropFirst(2), forSet: true)
            let expireAt = try options.deadline(now: session.now, command: "set")
            let old = options.get ? try session.string(key) : nil
            // Redis looks the key up first, which lets an expired one go (with its
            // `expired` event); a database without expiry times has nothing to let go.
            let exists = options.nx || options.xx || session.db.hasExpiries ? session.lookup(key) != nil : false
            if (options.nx && exists) || (options.xx && !exists) { return options.get ? .bulkString(old) : .null }
            session.db.set(key, .string(arguments[1]), keepTTL: options.keepTTL)
            if let expireAt { session.db.setExpiry(key, expireAt) }
            session.store.changes += 1
            session.notify(.strings, "set", key)
            if expireAt != nil { session.notify(.generic, "expire", key) }
            return options.get ? .bulkString(old) : .ok
        },
        "getex": one(-2) { (session, arguments) throws(CommandError) in
            let options = try StringOptions(arguments.dropFirst(), forSet: false)
            guard let value = try session.string(arguments[0]) else { return .null }
            guard let deadline = try options.deadline(now: session.now, command: "getex") else {
                if options.persist, session.db.expires[arguments[0]] != nil {
                    session.db.setExpiry(arguments[0], nil)
                    session.store.changes += 1
                    session.notify(.generic, "persist", arguments[0])
                }
                return .bulkString(value)
            }
            _ = expire(session, arguments[0], at: deadline)   // a deadline already past deletes the key
            return .bulkString(value)
        },
        "getdel": one(2) { (session, arguments) throws(CommandError) in
            guard let value = try session.string(arguments[0]) else { return .null }
            session.db.delete(arguments[0])
            session.store.changes += 1
            session.notify(.generic, "del", arguments[0])
            return .bulkString(value)
        },
        "msetnx": one(-3) { (session, arguments) throws(CommandError) in
            guard arguments.count % 2 == 0 else { throw .arity("msetnx") }
            let keys = stride(from: 0, to: arguments.count, by: 2).map { arguments[$0] }
            guard keys.allSatisfy({ session.lookup($0) == nil }) else { return .integer(0) }
            for pair in stride(from: 0, to: arguments.count, by: 2) {
                session.db.set(arguments[pair], .string(arguments[pair + 1]))
                session.notify(.strings, "set", arguments[pair])
            }
            session.store.changes += 1
            return .integer(1)
        },
        "setnx": one(3) { (session, arguments) throws(CommandError) in
            guard session.lookup(arguments[0]) == nil else { return .integer(0) }
            session.db.set(arguments[0], .string(arguments[1]))
            session.store.changes += 1
            session.notify(.strings, "set", arguments[0])
            return .integer(1)
        },
        "setex": one(4) { (session, arguments) throws(CommandError) in
            try setExpiring(session, arguments, unit: 1000)
        },
        "psetex": one(4) { (session, arguments) throws(CommandError) in
            try setExpiring(session, arguments, unit: 1)
        },
        "getset": one(3) { (session, arguments) throws(CommandError) in
            let old = try session.string(arguments[0])
            session.db.set(arguments[0], .string(arguments[1]))
            session.store.changes += 1
            session.notify(.strings, "set", arguments[0])
            return .bulkString(old)
        },
        "mget": one(-2) { session, arguments in
            .array(arguments.map { key in
                if let bytes = session.lookup(key)?.stringBytes { return .bulkString(bytes) }
                return .null
            })
        },
        "mset": one(-3) { (session, arguments) throws(CommandError) in
            guard arguments.count % 2 == 0 else { throw .arity("mset") }
            for pair in stride(from: 0, to: arguments.count, by: 2) {
                session.db.set(arguments[pair], .string(arguments[pair + 1]))
                session.notify(.strings, "set", arguments[pair])
            }
            session.store.changes += 1
            return .ok
        },
        "incr": one(2) { (session, arguments) throws(CommandError) in try increment(session, arguments[0], by: 1) },
        "decr": one(2) { (session, arguments) throws(CommandError) in try increment(session, arguments[0], by: -1) },
        "incrby": one(3) { (session, arguments) throws(CommandError) in try increment(session, arguments[0], by: try int(arguments[1])) },
        "decrby": one(3) { (session, arguments) throws(CommandError) in
            let amount = try int(arguments[1])
            guard amount != Int.min else { throw CommandError(message: "ERR decrement would overflow") }
            return try increment(session, arguments[0], by: -amount)
        },
        "incrbyfloat": one(3) { (session, arguments) throws(CommandError) in
            let current = try session.string(arguments[0])
            let text: [UInt8]
            do throws(FloatIncrementError) {
                text = try addFloat(current, arguments[1], finiteIncrement: false)
            } catch {
                throw error == .notFinite ? CommandError(message: "ERR increment would produce NaN or Infinity") : .notFloat
            }
            session.db.set(arguments[0], .string(text), keepTTL: true)
            session.store.changes += 1
            session.notify(.strings, "incrbyfloat", arguments[0])
            return .bulkString(text)
        },
        "append": one(3) { (session, arguments) throws(CommandError) in
            let current = try session.string(arguments[0]) ?? []
            try checkLength(session, current.count, plus: arguments[1].count)
            let value = current + arguments[1]
            session.db.set(arguments[0], .string(value), keepTTL: true)
            session.store.changes += 1
            session.notify(.strings, "append", arguments[0])
            return .integer(value.count)
        },
        "strlen": one(2) { (session, arguments) throws(CommandError) in .integer(try session.string(arguments[0])?.count ?? 0) },
    ]

    static func setExpiring(_ session: Session, _ arguments: [[UInt8]], unit: Int64) throws(CommandError) -> RESPValue {
        let amount = Int64(try int(arguments[1]))
        let deadline = try expiry(amount, seconds: unit != 1, from: session.now, command: unit == 1 ? "psetex" : "setex")
        session.db.set(arguments[0], .string(arguments[2]))
        session.db.setExpiry(arguments[0], deadline)
        session.store.changes += 1
        session.notify(.strings, "set", arguments[0])
        session.notify(.generic, "expire", arguments[0])
        return .ok
    }

    /// SET's and GETEX's words after the key (and value), read as Redis 7.0 reads them:
    /// one kind of expiry (repeating the same kind is allowed, the last amount wins),
    /// not with KEEPTTL or PERSIST, NX not with XX; anything else is a syntax error.
    /// The amount is read only later, once the key was looked at, as Redis does.
    struct StringOptions {
        enum Expiry: String { case ex = "EX", px = "PX", exat = "EXAT", pxat = "PXAT" }
        var expiry: (kind: Expiry, amount: [UInt8])?
        var nx = false, xx = false, get = false, keepTTL = false, persist = false

        init(_ words: ArraySlice<[UInt8]>, forSet: Bool) throws(CommandError) {
            var index = words.startIndex
            while index < words.endIndex {
                let word = words[index].text.uppercased()
                let hasNext = index + 1 < words.endIndex
                switch word {
                case "NX" where forSet && !xx: nx = true
                case "XX" where forSet && !nx: xx = true
                case "GET" where forSet: get = true
                case "KEEPTTL" where forSet && !persist && expiry == nil: keepTTL = true
                case "PERSIST" where !forSet && expiry == nil && !keepTTL: persist = true
                default:
                    guard let kind = Expiry(rawValue: word), hasNext, !keepTTL, !persist, expiry.map({ $0.kind == kind }) ?? true else {
                        throw .syntax
                    }
                    expiry = (kind, words[index + 1])
                    index += 1
                }
                index += 1
            }
        }

        /// The absolute deadline in milliseconds, nil without an expiry.
        func deadline(now: Int64, command: String) throws(CommandError) -> Int64? {
            guard let expiry else { return nil }
            let amount = Int64(try int(expiry.amount))
            let relative = expiry.kind == .ex || expiry.kind == .px
            return try Commands.expiry(amount, seconds: expiry.kind == .ex || expiry.kind == .exat, from: relative ? now : 0, command: command)
        }
    }

    /// When a key given an expiry by SET or SETEX expires, in milliseconds since 1970,
    /// as Redis computes it: a time that is not positive, or one that overflows, is
    /// refused in its words.
    static func expiry(_ amount: Int64, seconds: Bool, from base: Int64, command: String) throws(CommandError) -> Int64 {
        let refused = CommandError(message: "ERR invalid expire time in '\(command)' command")
        guard amount > 0 else { throw refused }
        let (milliseconds, tooBig) = amount.multipliedReportingOverflow(by: seconds ? 1000 : 1)
        let (deadline, overflow) = milliseconds.addingReportingOverflow(base)
        guard !tooBig, !overflow else { throw refused }
        return deadline
    }

    /// Changed in the key's slot (one lookup), and a counter of up to 7 characters
    /// is read and written in the slot's word.
    static func increment(_ session: Session, _ key: [UInt8], by amount: Int) throws(CommandError) -> RESPValue {
        let db = session.db
        if db.hasExpiries { _ = db.get(key, now: session.now) }   // forgets the key if its time is up
        let (result, created) = try db.withSlot(key) { (slot: inout StoreValue?) throws(CommandError) -> (Int, Bool) in
            let current: Int
            var created = false
            switch slot {
            case nil: (current, created) = (0, true)
            case .shortString(let short)?:
                guard let value = short.integer else { throw .notInteger }
                current = value
            case .string(let bytes)?: current = try int(bytes)
            default: throw .wrongType
            }
            let (result, overflow) = current.addingReportingOverflow(amount)
            guard !overflow else { throw CommandError(message: "ERR increment or decrement would overflow") }
            slot = ShortString(integer: result).map(StoreValue.shortString) ?? .string(decimal(result))
            return (result, created)
        }
        db.changedInPlace(key, created: created, wakes: false)
        session.store.changes += 1
        session.notify(.strings, "incrby", key)
        return .integer(result)
    }
}
