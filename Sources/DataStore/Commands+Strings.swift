extension Commands {
    static let strings: [String: Command] = [
        "get": one(2) { (session, arguments) throws(CommandError) in .bulkString(try session.string(arguments[0])) },
        "set": one(-3) { (session, arguments) throws(CommandError) in
            let key = arguments[0]
            var expireAt: Int64?
            var onlyIfMissing = false, onlyIfPresent = false, keepTTL = false, returnOld = false
            var index = 2
            while index < arguments.count {
                let option = arguments[index].text.uppercased()
                switch option {
                case "NX": onlyIfMissing = true
                case "XX": onlyIfPresent = true
                case "KEEPTTL": keepTTL = true
                case "GET": returnOld = true
                case "EX", "PX", "EXAT", "PXAT":
                    guard index + 1 < arguments.count else { throw .syntax }
                    let amount = Int64(try int(arguments[index + 1]))
                    let seconds = option == "EX" || option == "EXAT"
                    let relative = option == "EX" || option == "PX"
                    expireAt = try expiry(amount, seconds: seconds, from: relative ? session.now : 0, command: "set")
                    index += 1
                default: throw .syntax
                }
                index += 1
            }
            guard !(onlyIfMissing && onlyIfPresent) else { throw .syntax }
            let old = returnOld ? try session.string(key) : nil
            let exists = session.db.get(key, now: session.now) != nil
            if (onlyIfMissing && exists) || (onlyIfPresent && !exists) { return returnOld ? .bulkString(old) : .null }
            session.db.set(key, .string(arguments[1]), keepTTL: keepTTL)
            if let expireAt { session.db.setExpiry(key, expireAt) }
            session.store.changes += 1
            return returnOld ? .bulkString(old) : .ok
        },
        "setnx": one(3) { (session, arguments) throws(CommandError) in
            guard session.db.get(arguments[0], now: session.now) == nil else { return .integer(0) }
            session.db.set(arguments[0], .string(arguments[1]))
            session.store.changes += 1
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
            return .bulkString(old)
        },
        "mget": one(-2) { session, arguments in
            .array(arguments.map { key in
                if case .string(let bytes)? = session.db.get(key, now: session.now) { return .bulkString(bytes) }
                return .null
            })
        },
        "mset": one(-3) { (session, arguments) throws(CommandError) in
            guard arguments.count % 2 == 0 else { throw .arity("mset") }
            for pair in stride(from: 0, to: arguments.count, by: 2) { session.db.set(arguments[pair], .string(arguments[pair + 1])) }
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
            return .bulkString(text)
        },
        "append": one(3) { (session, arguments) throws(CommandError) in
            let value = (try session.string(arguments[0]) ?? []) + arguments[1]
            session.db.set(arguments[0], .string(value), keepTTL: true)
            session.store.changes += 1
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
        return .ok
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

    static func increment(_ session: Session, _ key: [UInt8], by amount: Int) throws(CommandError) -> RESPValue {
        let current = try session.string(key).map { (bytes) throws(CommandError) in try int(bytes) } ?? 0
        let (result, overflow) = current.addingReportingOverflow(amount)
        guard !overflow else { throw CommandError(message: "ERR increment or decrement would overflow") }
        session.db.set(key, .string(Array(String(result).utf8)), keepTTL: true)
        session.store.changes += 1
        return .integer(result)
    }
}
