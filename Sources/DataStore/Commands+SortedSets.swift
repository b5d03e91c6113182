extension Commands {
    static let sortedSets: [String: Command] = [
        "zadd": one(-4) { (session, arguments) throws(CommandError) in
            var index = 1
            var nx = false, xx = false, gt = false, lt = false, ch = false, incr = false
            flags: while index < arguments.count {
                switch arguments[index].text.uppercased() {
                case "NX": nx = true
                case "XX": xx = true
                case "GT": gt = true
                case "LT": lt = true
                case "CH": ch = true
                case "INCR": incr = true
                default: break flags
                }
                index += 1
            }
            let pairs = arguments[index...]
            guard !pairs.isEmpty, pairs.count % 2 == 0 else { throw .syntax }
            guard !(nx && xx) else { throw CommandError(message: "ERR XX and NX options at the same time are not compatible") }
            guard !(nx && (gt || lt)), !(gt && lt) else {
                throw CommandError(message: "ERR GT, LT, and/or NX options at the same time are not compatible")
            }
            guard !incr || pairs.count == 2 else { throw CommandError(message: "ERR INCR option supports a single increment-element pair") }
            var updates: [(score: Double, member: [UInt8])] = []
            for pair in stride(from: pairs.startIndex, to: pairs.endIndex, by: 2) {
                updates.append((try double(arguments[pair]), arguments[pair + 1]))
            }
            var added = 0, changed = 0
            var incremented: Double?
            try session.mutateSortedSet(arguments[0]) { set in
                for update in updates {
                    var score = update.score
                    let current = set.score(of: update.member)
                    if (nx && current != nil) || (xx && current == nil) { continue }
                    if incr { score += current ?? 0 }
                    if let current, (gt && score <= current) || (lt && score >= current) { continue }
                    if current == nil { added += 1 } else if current != score { changed += 1 }
                    set.set(update.member, score: score)
                    incremented = score
                }
            }
            if incr { return incremented.map { .bulk(format($0)) } ?? .null }
            return .integer(ch ? added + changed : added)
        },
        "zincrby": one(4) { (session, arguments) throws(CommandError) in
            let amount = try double(arguments[1])
            return try session.mutateSortedSet(arguments[0]) { (set) throws(CommandError) in
                let score = (set.score(of: arguments[2]) ?? 0) + amount
                guard !score.isNaN else { throw CommandError(message: "ERR resulting score is not a number (NaN)") }
                set.set(arguments[2], score: score)
                return .bulk(format(score))
            }
        },
        "zscore": one(3) { (session, arguments) throws(CommandError) in
            (try session.sortedSet(arguments[0])?.score(of: arguments[1])).map { .bulk(format($0)) } ?? .null
        },
        "zcard": one(2) { (session, arguments) throws(CommandError) in .integer(try session.sortedSet(arguments[0])?.count ?? 0) },
        "zrem": one(-3) { (session, arguments) throws(CommandError) in
            .integer(try session.mutateSortedSet(arguments[0]) { set in arguments.dropFirst().filter { set.remove($0) != nil }.count })
        },
        "zrank": one(3) { (session, arguments) throws(CommandError) in
            (try session.sortedSet(arguments[0])?.rank(of: arguments[1])).map { .integer($0) } ?? .null
        },
        "zrevrank": one(3) { (session, arguments) throws(CommandError) in
            guard let set = try session.sortedSet(arguments[0]), let rank = set.rank(of: arguments[1]) else { return .null }
            return .integer(set.count - 1 - rank)
        },
        "zcount": one(4) { (session, arguments) throws(CommandError) in
            guard let low = ScoreBound(arguments[1]), let high = ScoreBound(arguments[2]) else {
                throw CommandError(message: "ERR min or max is not a float")
            }
            return .integer(try session.sortedSet(arguments[0])?.members(scoreFrom: low, to: high).count ?? 0)
        },
        "zrange": one(-4) { (session, arguments) throws(CommandError) in
            let options = arguments.dropFirst(3).map { $0.text.uppercased() }
            let withScores = options.contains("WITHSCORES")
            if options.contains("BYSCORE") {
                return try byScore(session, arguments[0], arguments[1], arguments[2], reverse: options.contains("REV"), withScores: withScores)
            }
            guard options.allSatisfy({ ["WITHSCORES", "REV"].contains($0) }) else { throw .syntax }
            return try byRank(session, arguments, reverse: options.contains("REV"), withScores: withScores)
        },
        "zrevrange": one(-4) { (session, arguments) throws(CommandError) in
            let options = arguments.dropFirst(3).map { $0.text.uppercased() }
            guard options.allSatisfy({ $0 == "WITHSCORES" }) else { throw .syntax }
            return try byRank(session, arguments, reverse: true, withScores: !options.isEmpty)
        },
        "zrangebyscore": one(-4) { (session, arguments) throws(CommandError) in
            let options = arguments.dropFirst(3).map { $0.text.uppercased() }
            guard options.allSatisfy({ $0 == "WITHSCORES" }) else { throw .syntax }
            return try byScore(session, arguments[0], arguments[1], arguments[2], reverse: false, withScores: !options.isEmpty)
        },
    ]

    static func byRank(_ session: Session, _ arguments: [[UInt8]], reverse: Bool, withScores: Bool) throws(CommandError) -> RESPValue {
        let set = try session.sortedSet(arguments[0]) ?? SortedSet()
        guard let ranks = clamp(try int(arguments[1]), try int(arguments[2]), count: set.count) else { return .array([]) }
        let chosen = reverse
            ? Array(set.range((set.count - 1 - ranks.upperBound)...(set.count - 1 - ranks.lowerBound)).reversed())
            : Array(set.range(ranks))
        return render(chosen, withScores: withScores)
    }

    static func byScore(_ session: Session, _ key: [UInt8], _ first: [UInt8], _ second: [UInt8], reverse: Bool,
                        withScores: Bool) throws(CommandError) -> RESPValue {
        // With REV the bounds come max first, as in Redis.
        guard let low = ScoreBound(reverse ? second : first), let high = ScoreBound(reverse ? first : second) else {
            throw CommandError(message: "ERR min or max is not a float")
        }
        let members = try session.sortedSet(key)?.members(scoreFrom: low, to: high) ?? []
        return render(reverse ? members.reversed() : members, withScores: withScores)
    }

    static func render(_ entries: [(score: Double, member: [UInt8])], withScores: Bool) -> RESPValue {
        .array(entries.flatMap { entry -> [RESPValue] in
            withScores ? [.bulkString(entry.member), .bulk(format(entry.score))] : [.bulkString(entry.member)]
        })
    }
}
