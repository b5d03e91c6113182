extension Commands {
    /// Sets moved between and counted, and random fields of hashes.
    static let setMoves: [String: Command] = [
        "smove": one(4) { (session, arguments) throws(CommandError) in
            let (source, destination, member) = (arguments[0], arguments[1], arguments[2])
            guard let set = try session.set(source) else {
                return .integer(0)
            }
            _ = try session.set(destination)
            if source == destination { return .integer(set.contains(member) ? 1 : 0) }
            guard set.contains(member) else { return .integer(0) }
            try session.mutateSet(source) { _ = $0.remove(member) }
            session.notify(.sets, "srem", source)   // and its `del`, if that emptied it
            let added = try session.mutateSet(destination) { $0.insert(member).inserted }
            if added { session.notify(.sets, "sadd", destination) }
            return .integer(1)
        },
        "smismember": one(-3) { (session, arguments) throws(CommandError) in
            let set = try session.set(arguments[0]) ?? []
            return .array(arguments.dropFirst().map { .integer(set.contains($0) ? 1 : 0) })
        },
        "sintercard": one(-3) { (session, arguments) throws(CommandError) in
            guard let count = integer(arguments[0]), count > 0 else { throw CommandError(message: "ERR numkeys should be greater than 0") }
            guard count <= arguments.count - 1 else {
                throw CommandError(message: "ERR Number of keys can't be greater than number of args")
            }
            var limit = 0
            var index = count + 1
            while index < arguments.count {
                guard arguments[index].text.uppercased() == "LIMIT", index + 1 < arguments.count else { throw .syntax }
                guard let number = integer(arguments[index + 1]), number >= 0 else { throw CommandError(message: "ERR LIMIT can't be negative") }
                limit = number
                index += 2
            }
            let size = try combine(session, Array(arguments[1...count]), .intersection).count
            return .integer(limit == 0 ? size : min(size, limit))
        },
        "hrandfield": one(-2) { (session, arguments) throws(CommandError) in try randomFields(session, arguments) },
    ]

    /// HRANDFIELD key [count [WITHVALUES]]: distinct fields for a positive count,
    /// repeats allowed for a negative one; the order is random, as in Redis.
    static func randomFields(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        guard arguments.count > 1 else {
            return .bulkString((try session.hash(arguments[0]) ?? [:]).randomElement()?.key.bytes)
        }
        let count = try int(arguments[1])
        guard count != Int.min else {
            throw CommandError(message: "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        }
        guard arguments.count == 2 || (arguments.count == 3 && arguments[2].text.uppercased() == "WITHVALUES") else { throw .syntax }
        let withValues = arguments.count == 3
        if withValues, count < -(Int.max / 2) || count > Int.max / 2 { throw CommandError(message: "ERR value is out of range") }
        guard let hash = try session.hash(arguments[0]), count != 0 else { return .array([]) }
        let fields: [(key: StoreKey, value: [UInt8])]
        if count > 0 {
            fields = Array(hash.shuffled().prefix(count))
        } else {
            // Repeats make the reply as long as asked: bounded, as SRANDMEMBER's is.
            guard count >= -Commands.maximumRepeatedMembers else { throw CommandError(message: "ERR value is out of range") }
            fields = (0..<(-count)).compactMap { _ in hash.randomElement() }
        }
        return .array(fields.flatMap { field -> [RESPValue] in
            withValues ? [.bulkString(field.key.bytes), .bulkString(field.value)] : [.bulkString(field.key.bytes)]
        }).pairedIf(withValues)
    }
}
