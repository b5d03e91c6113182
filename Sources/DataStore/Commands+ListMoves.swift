import NIOCore

extension Commands {
    /// Lists searched, inserted into and moved between; the blocking forms wait in
    /// BlockingPops.swift.
    static let listMoves: [String: Command] = [
        "lpushx": one(-3) { (session, arguments) throws(CommandError) in
            guard try session.list(arguments[0]) != nil else { return .integer(0) }
            return try push(session, arguments, front: true)
        },
        "rpushx": one(-3) { (session, arguments) throws(CommandError) in
            guard try session.list(arguments[0]) != nil else { return .integer(0) }
            return try push(session, arguments, front: false)
        },
        "linsert": one(5) { (session, arguments) throws(CommandError) in
            let after: Bool
            switch arguments[1].text.uppercased() {
            case "AFTER": after = true
            case "BEFORE": after = false
            default: throw .syntax
            }
            guard let list = try session.list(arguments[0]) else { return .integer(0) }
            guard let pivot = list.firstIndex(of: arguments[2]) else { return .integer(-1) }
            let count = try session.mutateList(arguments[0]) { list in
                var items = Array(list)
                items.insert(arguments[3], at: list.distance(from: list.startIndex, to: pivot) + (after ? 1 : 0))
                list = CircularBuffer(items)
                return list.count
            }
            session.notify(.lists, "linsert", arguments[0])
            return .integer(count)
        },
        "lpos": one(-3) { (session, arguments) throws(CommandError) in try position(session, arguments) },
        "lmove": one(5) { (session, arguments) throws(CommandError) in
            let (from, to) = (try end(arguments[2]), try end(arguments[3]))
            return try move(session, arguments[0], arguments[1], fromFront: from, toFront: to) ?? .null
        },
        "rpoplpush": one(3) { (session, arguments) throws(CommandError) in
            try move(session, arguments[0], arguments[1], fromFront: false, toFront: true) ?? .null
        },
        "lmpop": one(-4) { (session, arguments) throws(CommandError) in
            let request = try MultiPop(arguments[...])
            for key in request.keys {
                if let reply = try session.take(from: key, .many(front: request.front, count: request.count)) { return reply }
            }
            return .array(nil)
        },
        "blmove": Command(arity: 6) { (session, arguments) throws(CommandError) in
            let (from, to) = (try end(arguments[2]), try end(arguments[3]))
            return try session.blockingPop([arguments[0]], timeout: arguments[4], .move(front: from, destination: arguments[1], toFront: to))
        },
        "brpoplpush": Command(arity: 4) { (session, arguments) throws(CommandError) in
            try session.blockingPop([arguments[0]], timeout: arguments[2], .move(front: false, destination: arguments[1], toFront: true))
        },
        "blmpop": Command(arity: -5) { (session, arguments) throws(CommandError) in
            let request = try MultiPop(arguments.dropFirst())
            return try session.blockingPop(request.keys, timeout: arguments[0], .many(front: request.front, count: request.count))
        },
    ]

    /// LEFT or RIGHT: true for the head.
    static func end(_ argument: [UInt8]) throws(CommandError) -> Bool {
        switch argument.text.uppercased() {
        case "LEFT": return true
        case "RIGHT": return false
        default: throw .syntax
        }
    }

    /// LMPOP's and BLMPOP's `numkeys key... LEFT|RIGHT [COUNT count]`, and ZMPOP's
    /// and BZMPOP's with MIN|MAX (`front` is MIN).
    struct MultiPop {
        let keys: [[UInt8]]
        let front: Bool
        var count = 1

        init(_ words: ArraySlice<[UInt8]>, side: ([UInt8]) throws(CommandError) -> Bool = end) throws(CommandError) {
            let start = words.startIndex
            // Redis words a count that is not a number as one that is too small.
            guard let number = integer(words[start]), number > 0 else { throw CommandError(message: "ERR numkeys should be greater than 0") }
            // The side must follow the keys: more keys than words is a syntax error.
            guard number < words.count - 1 else { throw .syntax }
            keys = Array(words[(start + 1)...(start + number)])
            front = try side(words[start + number + 1])
            var index = start + number + 2
            var counted = false
            while index < words.endIndex {
                guard !counted, words[index].text.uppercased() == "COUNT", index + 1 < words.endIndex else { throw .syntax }
                guard let count = integer(words[index + 1]), count > 0 else { throw CommandError(message: "ERR count should be greater than 0") }
                self.count = count
                counted = true
                index += 2
            }
        }
    }

    /// LMOVE: pops from one end of `source` and pushes onto an end of `destination`,
    /// nil when the source is missing. The destination's type is checked before
    /// anything moves; a list rotated onto itself keeps its expiry.
    static func move(_ session: Session, _ source: [UInt8], _ destination: [UInt8], fromFront: Bool,
                     toFront: Bool) throws(CommandError) -> RESPValue? {
        guard try session.list(source) != nil else { return nil }
        _ = try session.list(destination)
        // Redis's events: the push on the destination, then the pop on the source (and its `del`).
        let events = (push: toFront ? "lpush" : "rpush", pop: fromFront ? "lpop" : "rpop")
        if source == destination {
            let reply = try session.mutateList(source) { list -> RESPValue in
                guard let item = fromFront ? list.popFirst() : list.popLast() else { return .null }
                if toFront { list.prepend(item) } else { list.append(item) }
                return .bulkString(item)
            }
            session.notify(.lists, events.push, destination)
            session.notify(.lists, events.pop, source)
            return reply
        }
        guard let item = try session.mutateList(source, { fromFront ? $0.popFirst() : $0.popLast() }) else { return .null }
        try session.mutateList(destination) { toFront ? $0.prepend(item) : $0.append(item) }
        session.notify(.lists, events.push, destination)
        session.notify(.lists, events.pop, source)
        return .bulkString(item)
    }

    /// LPOS key element [RANK rank] [COUNT count] [MAXLEN len]. A RANK of
    /// -9223372036854775808 behaves as in Redis, whose negation of it wraps.
    static func position(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        var rank = 1, count: Int?, maxLength = 0
        var index = 2
        while index < arguments.count {
            let option = arguments[index].text.uppercased()
            guard index + 1 < arguments.count else { throw .syntax }
            let value = arguments[index + 1]
            switch option {
            case "RANK":
                rank = try int(value)
                guard rank != 0 else {
                    throw CommandError(message: "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                        + "or use negative to start from the end of the list")
                }
            case "COUNT":
                guard let number = integer(value), number >= 0 else { throw CommandError(message: "ERR COUNT can't be negative") }
                count = number
            case "MAXLEN":
                guard let number = integer(value), number >= 0 else { throw CommandError(message: "ERR MAXLEN can't be negative") }
                maxLength = number
            default: throw .syntax
            }
            index += 2
        }
        let fromTail = rank < 0
        if fromTail { rank = 0 &- rank }
        guard let list = try session.list(arguments[0]) else { return count == nil ? .null : .array([]) }
        var found: [RESPValue] = []
        var matches = 0
        let items = fromTail ? Array(list.reversed()) : Array(list)
        for (offset, item) in items.prefix(maxLength == 0 ? items.count : maxLength).enumerated() {
            guard item == arguments[1] else { continue }
            matches += 1
            guard matches >= rank else { continue }
            let position = fromTail ? items.count - offset - 1 : offset
            guard let count else { return .integer(position) }
            found.append(.integer(position))
            if count != 0, (matches &- rank &+ 1) >= count { break }
        }
        return count == nil ? .null : .array(found)
    }
}
