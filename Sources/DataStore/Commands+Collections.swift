import NIOCore

extension Commands {
    // MARK: - Hashes

    static let hashes: [String: Command] = [
        "hset": one(-4) { (session, arguments) throws(CommandError) in
            guard arguments.count % 2 == 1 else { throw .arity("hset") }
            let added = try session.mutateHash(arguments[0]) { hash in
                stride(from: 1, to: arguments.count, by: 2).filter { hash.updateValue(arguments[$0 + 1], forKey: arguments[$0]) == nil }.count
            }
            session.notify(.hashes, "hset", arguments[0])
            return .integer(added)
        },
        "hmset": one(-4) { (session, arguments) throws(CommandError) in
            guard arguments.count % 2 == 1 else { throw .arity("hmset") }
            try session.mutateHash(arguments[0]) { hash in
                for pair in stride(from: 1, to: arguments.count, by: 2) { hash[arguments[pair]] = arguments[pair + 1] }
            }
            session.notify(.hashes, "hset", arguments[0])
            return .ok
        },
        "hsetnx": one(4) { (session, arguments) throws(CommandError) in
            let set = try session.mutateHash(arguments[0]) { hash in
                guard hash[arguments[1]] == nil else { return false }
                hash[arguments[1]] = arguments[2]
                return true
            }
            if set { session.notify(.hashes, "hset", arguments[0]) }
            return .integer(set ? 1 : 0)
        },
        "hget": one(3) { (session, arguments) throws(CommandError) in .bulkString(try session.hash(arguments[0])?[arguments[1]]) },
        "hmget": one(-3) { (session, arguments) throws(CommandError) in
            let hash = try session.hash(arguments[0]) ?? [:]
            return .array(arguments.dropFirst().map { .bulkString(hash[$0]) })
        },
        "hgetall": one(2) { (session, arguments) throws(CommandError) in
            let hash = try session.hash(arguments[0]) ?? [:]
            return .map(hash.sorted { $0.key.lexicographicallyPrecedes($1.key) }.flatMap { [.bulkString($0.key.bytes), .bulkString($0.value)] })
        },
        "hkeys": one(2) { (session, arguments) throws(CommandError) in
            bulkArray((try session.hash(arguments[0]) ?? [:]).keys.sorted { $0.lexicographicallyPrecedes($1) })
        },
        "hvals": one(2) { (session, arguments) throws(CommandError) in
            bulkArray((try session.hash(arguments[0]) ?? [:]).sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.value))
        },
        "hdel": one(-3) { (session, arguments) throws(CommandError) in
            let removed = try session.mutateHash(arguments[0]) { hash in arguments.dropFirst().filter { hash.removeValue(forKey: $0) != nil }.count }
            if removed > 0 { session.notify(.hashes, "hdel", arguments[0]) }
            return .integer(removed)
        },
        "hexists": one(3) { (session, arguments) throws(CommandError) in .integer(try session.hash(arguments[0])?[arguments[1]] == nil ? 0 : 1) },
        "hlen": one(2) { (session, arguments) throws(CommandError) in .integer(try session.hash(arguments[0])?.count ?? 0) },
        "hstrlen": one(3) { (session, arguments) throws(CommandError) in .integer(try session.hash(arguments[0])?[arguments[1]]?.count ?? 0) },
        "hincrby": one(4) { (session, arguments) throws(CommandError) in
            let amount = try int(arguments[2])
            let result = try session.mutateHash(arguments[0]) { (hash) throws(CommandError) in
                let current = try hash[arguments[1]].map { (bytes) throws(CommandError) in
                    guard let value = Int(bytes.text) else { throw CommandError(message: "ERR hash value is not an integer") }
                    return value
                } ?? 0
                let (result, overflow) = current.addingReportingOverflow(amount)
                guard !overflow else { throw CommandError(message: "ERR increment or decrement would overflow") }
                hash[arguments[1]] = decimal(result)
                return result
            }
            session.notify(.hashes, "hincrby", arguments[0])
            return .integer(result)
        },
        "hincrbyfloat": one(4) { (session, arguments) throws(CommandError) in
            // Redis checks the increment before the key's type, and refuses an infinite one.
            do throws(FloatIncrementError) {
                _ = try addFloat(nil, arguments[2], finiteIncrement: true)
            } catch {
                throw error == .infiniteIncrement ? CommandError(message: "ERR value is NaN or Infinity") : .notFloat
            }
            let text = try session.mutateHash(arguments[0]) { (hash) throws(CommandError) in
                do throws(FloatIncrementError) {
                    let text = try addFloat(hash[arguments[1]], arguments[2], finiteIncrement: true)
                    hash[arguments[1]] = text
                    return text
                } catch {
                    throw error == .currentNotFloat ? CommandError(message: "ERR hash value is not a float")
                        : CommandError(message: "ERR increment would produce NaN or Infinity")
                }
            }
            session.notify(.hashes, "hincrbyfloat", arguments[0])
            return .bulkString(text)
        },
        "hscan": Command(arity: -3) { (session, arguments) throws(CommandError) in
            let fields = (try session.hash(arguments[0]) ?? [:]).sorted { $0.key.lexicographicallyPrecedes($1.key) }
            return [try scan(fields, cursor: arguments[1], options: Array(arguments.dropFirst(2)), key: { $0.key.bytes }) {
                [.bulkString($0.key.bytes), .bulkString($0.value)]
            }]
        },
    ]

    // MARK: - Lists

    static let lists: [String: Command] = [
        "lpush": one(-3) { (session, arguments) throws(CommandError) in try push(session, arguments, front: true) },
        "rpush": one(-3) { (session, arguments) throws(CommandError) in try push(session, arguments, front: false) },
        "lpop": one(-2) { (session, arguments) throws(CommandError) in try pop(session, arguments, front: true) },
        "rpop": one(-2) { (session, arguments) throws(CommandError) in try pop(session, arguments, front: false) },
        "llen": one(2) { (session, arguments) throws(CommandError) in .integer(try session.list(arguments[0])?.count ?? 0) },
        "lrange": one(4) { (session, arguments) throws(CommandError) in
            let list = try session.list(arguments[0]) ?? []
            guard let range = clamp(try int(arguments[1]), try int(arguments[2]), count: list.count) else { return .array([]) }
            return bulkArray(range.map { list[list.index(list.startIndex, offsetBy: $0)] })
        },
        "lindex": one(3) { (session, arguments) throws(CommandError) in
            let list = try session.list(arguments[0]) ?? []
            var index = try int(arguments[1])
            if index < 0 { index += list.count }
            guard (0..<list.count).contains(index) else { return .null }
            return .bulkString(list[list.index(list.startIndex, offsetBy: index)])
        },
        "lset": one(4) { (session, arguments) throws(CommandError) in
            guard try session.list(arguments[0]) != nil else { throw .noSuchKey }
            let requested = try int(arguments[1])
            let reply = try session.mutateList(arguments[0]) { (list) throws(CommandError) -> RESPValue in
                let index = requested < 0 ? requested + list.count : requested
                guard (0..<list.count).contains(index) else { throw CommandError(message: "ERR index out of range") }
                list[list.index(list.startIndex, offsetBy: index)] = arguments[2]
                return .ok
            }
            session.notify(.lists, "lset", arguments[0])
            return reply
        },
        "lrem": one(4) { (session, arguments) throws(CommandError) in
            guard let list = try session.list(arguments[0]) else { return .integer(0) }
            let count = try int(arguments[1])
            var items = Array(list)
            var removed = 0
            let limit = count == 0 ? Int.max : Int(clamping: count.magnitude)
            let order: [Int] = count < 0 ? Array(items.indices.reversed()) : Array(items.indices)
            var doomed = Set<Int>()
            for index in order where items[index] == arguments[2] && removed < limit {
                doomed.insert(index)
                removed += 1
            }
            items = items.enumerated().filter { !doomed.contains($0.offset) }.map(\.element)
            session.store(arguments[0], .list(CircularBuffer(items)))
            if removed > 0 { session.notify(.lists, "lrem", arguments[0]) }
            return .integer(removed)
        },
        "ltrim": one(4) { (session, arguments) throws(CommandError) in
            guard let list = try session.list(arguments[0]) else { return .ok }
            let range = clamp(try int(arguments[1]), try int(arguments[2]), count: list.count)
            let kept = range.map { range in range.map { list[list.index(list.startIndex, offsetBy: $0)] } } ?? []
            session.store(arguments[0], .list(CircularBuffer(kept)))
            session.notify(.lists, "ltrim", arguments[0])
            return .ok
        },
        "blpop": Command(arity: -3) { (session, arguments) throws(CommandError) in
            try session.blockingPop(Array(arguments.dropLast()), timeout: arguments[arguments.count - 1], .one(front: true))
        },
        "brpop": Command(arity: -3) { (session, arguments) throws(CommandError) in
            try session.blockingPop(Array(arguments.dropLast()), timeout: arguments[arguments.count - 1], .one(front: false))
        },
    ]

    static func push(_ session: Session, _ arguments: [[UInt8]], front: Bool) throws(CommandError) -> RESPValue {
        let count = try session.mutateList(arguments[0]) { list in
            for item in arguments.dropFirst() {
                if front { list.prepend(item) } else { list.append(item) }
            }
            return list.count
        }
        session.notify(.lists, front ? "lpush" : "rpush", arguments[0])
        return .integer(count)
    }

    static func pop(_ session: Session, _ arguments: [[UInt8]], front: Bool) throws(CommandError) -> RESPValue {
        guard arguments.count <= 2 else { throw .arity(front ? "lpop" : "rpop") }
        let count = try arguments.count == 2 ? int(arguments[1]) : nil
        if let count, count < 0 { throw CommandError(message: "ERR value is out of range, must be positive") }
        guard try session.list(arguments[0]) != nil else { return count == nil ? .null : .array(nil) }
        let popped = try session.mutateList(arguments[0]) { list in
            var popped: [[UInt8]] = []
            for _ in 0..<(count ?? 1) {
                guard let item = front ? list.popFirst() : list.popLast() else { break }
                popped.append(item)
            }
            return popped
        }
        if !popped.isEmpty { session.notify(.lists, front ? "lpop" : "rpop", arguments[0]) }
        return count == nil ? .bulkString(popped.first) : bulkArray(popped)
    }

    /// Redis's inclusive start/stop with negative indexes from the end; nil when empty.
    static func clamp(_ start: Int, _ stop: Int, count: Int) -> ClosedRange<Int>? {
        let first = max(0, start < 0 ? start + count : start)
        let last = min(count - 1, stop < 0 ? stop + count : stop)
        return first <= last ? first...last : nil
    }

    // MARK: - Sets

    static let sets: [String: Command] = [
        "sadd": one(-3) { (session, arguments) throws(CommandError) in
            let added = try session.mutateSet(arguments[0]) { set in arguments.dropFirst().filter { set.insert($0).inserted }.count }
            if added > 0 { session.notify(.sets, "sadd", arguments[0]) }
            return .integer(added)
        },
        "srem": one(-3) { (session, arguments) throws(CommandError) in
            let removed = try session.mutateSet(arguments[0]) { set in arguments.dropFirst().filter { set.remove($0) != nil }.count }
            if removed > 0 { session.notify(.sets, "srem", arguments[0]) }
            return .integer(removed)
        },
        "smembers": one(2) { (session, arguments) throws(CommandError) in sortedMembers(try session.set(arguments[0]) ?? []) },
        "sismember": one(3) { (session, arguments) throws(CommandError) in .integer(try session.set(arguments[0])?.contains(arguments[1]) == true ? 1 : 0) },
        "scard": one(2) { (session, arguments) throws(CommandError) in .integer(try session.set(arguments[0])?.count ?? 0) },
        "sinter": one(-2) { (session, arguments) throws(CommandError) in sortedMembers(try combine(session, arguments, .intersection)) },
        "sunion": one(-2) { (session, arguments) throws(CommandError) in sortedMembers(try combine(session, arguments, .union)) },
        "sdiff": one(-2) { (session, arguments) throws(CommandError) in sortedMembers(try combine(session, arguments, .difference)) },
        "sinterstore": one(-3) { (session, arguments) throws(CommandError) in try store(session, arguments, .intersection) },
        "sunionstore": one(-3) { (session, arguments) throws(CommandError) in try store(session, arguments, .union) },
        "sdiffstore": one(-3) { (session, arguments) throws(CommandError) in try store(session, arguments, .difference) },
        "spop": one(-2) { (session, arguments) throws(CommandError) in
            guard var set = try session.set(arguments[0]) else { return arguments.count > 1 ? .set([]) : .null }
            let count = arguments.count > 1 ? try int(arguments[1]) : 1
            guard count >= 0 else { throw CommandError(message: "ERR value is out of range, must be positive") }
            var popped: [[UInt8]] = []
            for _ in 0..<max(0, count) {
                guard let member = set.randomElement() else { break }
                set.remove(member)
                popped.append(member.bytes)
            }
            session.store(arguments[0], .set(set))
            if !popped.isEmpty { session.notify(.sets, "spop", arguments[0]) }
            return arguments.count > 1 ? .set(popped.map { .bulkString($0) }) : .bulkString(popped.first)
        },
        "srandmember": one(-2) { (session, arguments) throws(CommandError) in
            let set = try session.set(arguments[0]) ?? []
            guard arguments.count > 1 else { return .bulkString(set.randomElement()?.bytes) }
            let count = try int(arguments[1])
            guard count != Int.min else {
                throw CommandError(message: "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
            }
            if count >= 0 { return bulkArray(set.shuffled().prefix(count)) }
            // Repeats allowed: the reply is as long as asked, so the count is bounded
            // (Redis refuses only LLONG_MIN, and builds a reply that can exhaust memory).
            guard count >= -Commands.maximumRepeatedMembers else { throw CommandError(message: "ERR value is out of range") }
            return bulkArray((0..<(-count)).compactMap { _ in set.randomElement() })
        },
        "sscan": Command(arity: -3) { (session, arguments) throws(CommandError) in
            let members = (try session.set(arguments[0]) ?? []).sorted { $0.lexicographicallyPrecedes($1) }
            return [try scan(members, cursor: arguments[1], options: Array(arguments.dropFirst(2)), key: { $0.bytes }) { [.bulkString($0.bytes)] }]
        },
    ]

    enum SetOperation { case intersection, union, difference }

    static func combine(_ session: Session, _ keys: [[UInt8]], _ operation: SetOperation) throws(CommandError) -> Set<StoreKey> {
        var result = try session.set(keys[0]) ?? []
        for key in keys.dropFirst() {
            let other = try session.set(key) ?? []
            switch operation {
            case .intersection: result.formIntersection(other)
            case .union: result.formUnion(other)
            case .difference: result.subtract(other)
            }
        }
        return result
    }

    static func store(_ session: Session, _ arguments: [[UInt8]], _ operation: SetOperation) throws(CommandError) -> RESPValue {
        let result = try combine(session, Array(arguments.dropFirst()), operation)
        // Replaced in place, as Redis's setKey does (no `new` event, the expiry dropped).
        let existed = result.isEmpty ? session.db.delete(arguments[0]) : true
        if !result.isEmpty { session.db.set(arguments[0], .set(result)) }
        session.store.changes += 1
        if !result.isEmpty {
            session.notify(.sets, ["sinterstore", "sunionstore", "sdiffstore"][[.intersection, .union, .difference].firstIndex(of: operation) ?? 0],
                           arguments[0])
        } else if existed {
            session.notify(.generic, "del", arguments[0])
        }
        return .integer(result.count)
    }

    static func sortedMembers(_ set: Set<StoreKey>) -> RESPValue {
        .set(set.sorted { $0.lexicographicallyPrecedes($1) }.map { .bulkString($0.bytes) })
    }

    // MARK: - Pub/sub

    static let pubsub: [String: Command] = [
        "subscribe": Command(arity: -2) { session, arguments in session.subscribe(arguments, pattern: false) },
        "psubscribe": Command(arity: -2) { session, arguments in session.subscribe(arguments, pattern: true) },
        "unsubscribe": Command(arity: -1) { session, arguments in session.unsubscribe(arguments, pattern: false) },
        "punsubscribe": Command(arity: -1) { session, arguments in session.unsubscribe(arguments, pattern: true) },
        "publish": one(3) { session, arguments in .integer(session.store.pubsub.publish(channel: arguments[0], message: arguments[1])) },
        "pubsub": one(-2) { (session, arguments) throws(CommandError) in
            let hub = session.store.pubsub
            switch arguments[0].text.lowercased() {
            case "channels":
                let names = hub.channels.keys.filter { name in arguments.count < 2 || Glob.matches(arguments[1], name) }
                return bulkArray(names.sorted { $0.lexicographicallyPrecedes($1) })
            case "numsub":
                return .array(arguments.dropFirst().flatMap { [.bulkString($0), .integer(hub.channels[$0]?.count ?? 0)] })
            case "numpat":
                return .integer(hub.patterns.count)   // distinct patterns, however many subscribe to each
            default:
                throw CommandError(message: "ERR unknown subcommand '\(arguments[0].text)'. Try PUBSUB HELP.")
            }
        },
    ]
}
