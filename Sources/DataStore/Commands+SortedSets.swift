extension Commands {
    static let sortedSets: [String: Command] = [
        "zadd": one(-4) { (session, arguments) throws(CommandError) in
            var index = 1
            var nx = false, xx = false, gt = false, lt = false, ch = false, incr = false
            flags: while index < arguments.count {
                // A score starts with a digit, a sign or a point: only a word can be a flag.
                guard let first = arguments[index].first, (first | 0x20) >= UInt8(ascii: "a"), (first | 0x20) <= UInt8(ascii: "z") else {
                    break flags
                }
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
            updates.reserveCapacity(pairs.count / 2)
            for pair in stride(from: pairs.startIndex, to: pairs.endIndex, by: 2) {
                updates.append((try double(arguments[pair]), arguments[pair + 1]))
            }
            var added = 0, changed = 0
            var incremented: Double?
            try session.mutateSortedSet(arguments[0]) { (set) throws(CommandError) in
                for update in updates {
                    var score = update.score
                    let current = set.score(of: update.member)
                    if (nx && current != nil) || (xx && current == nil) { continue }
                    if incr {
                        score = current.map { $0 + score } ?? score
                        guard !score.isNaN else { throw CommandError(message: "ERR resulting score is not a number (NaN)") }
                    }
                    if let current, (gt && score <= current) || (lt && score >= current) { continue }
                    if current == nil { added += 1 } else if current != score { changed += 1 }
                    incremented = score
                    // The same bits again: nothing to store (`set` would look the member up again).
                    let kept = stored(score)
                    if current?.bitPattern != kept.bitPattern { set.set(update.member, score: kept) }
                }
            }
            if added + changed > 0 { session.notify(.sortedSets, incr ? "zincr" : "zadd", arguments[0]) }
            if incr { return incremented.map { .double($0) } ?? .null }
            return .integer(ch ? added + changed : added)
        },
        "zincrby": one(4) { (session, arguments) throws(CommandError) in
            let amount = try double(arguments[1])
            let score = try session.mutateSortedSet(arguments[0]) { (set) throws(CommandError) in
                let score = set.score(of: arguments[2]).map { $0 + amount } ?? amount
                guard !score.isNaN else { throw CommandError(message: "ERR resulting score is not a number (NaN)") }
                set.set(arguments[2], score: stored(score))
                return score
            }
            session.notify(.sortedSets, "zincr", arguments[0])
            return .double(score)
        },
        "zscore": one(3) { (session, arguments) throws(CommandError) in
            (try session.sortedSet(arguments[0])?.score(of: arguments[1])).map { .double($0) } ?? .null
        },
        "zcard": one(2) { (session, arguments) throws(CommandError) in .integer(try session.sortedSet(arguments[0])?.count ?? 0) },
        "zrem": one(-3) { (session, arguments) throws(CommandError) in
            let removed = try session.mutateSortedSet(arguments[0]) { set in arguments.dropFirst().filter { set.remove($0) != nil }.count }
            if removed > 0 { session.notify(.sortedSets, "zrem", arguments[0]) }
            return .integer(removed)
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
            return .integer(try session.sortedSet(arguments[0])?.ranks(scoreFrom: low, to: high).count ?? 0)
        },
        "zlexcount": one(4) { (session, arguments) throws(CommandError) in
            guard let low = LexBound(arguments[1]), let high = LexBound(arguments[2]) else { throw lexRangeError }
            return .integer(try session.sortedSet(arguments[0])?.ranks(lexFrom: low, to: high).count ?? 0)
        },
        "zrange": one(-4) { (session, arguments) throws(CommandError) in try range(session, arguments, RangeOptions()) },
        "zrevrange": one(-4) { (session, arguments) throws(CommandError) in
            try range(session, arguments, RangeOptions(kind: .rank, reverse: true))
        },
        "zrangebyscore": one(-4) { (session, arguments) throws(CommandError) in
            try range(session, arguments, RangeOptions(kind: .score, reverse: false))
        },
        "zrevrangebyscore": one(-4) { (session, arguments) throws(CommandError) in
            try range(session, arguments, RangeOptions(kind: .score, reverse: true))
        },
        "zrangebylex": one(-4) { (session, arguments) throws(CommandError) in
            try range(session, arguments, RangeOptions(kind: .lex, reverse: false))
        },
        "zrevrangebylex": one(-4) { (session, arguments) throws(CommandError) in
            try range(session, arguments, RangeOptions(kind: .lex, reverse: true))
        },
    ]

    static let lexRangeError = CommandError(message: "ERR min or max not valid string range item")

    /// What ZRANGE's words after `key start stop` ask for. The older commands
    /// (ZREVRANGE, ZRANGEBYSCORE, ...) fix the kind and direction, and then Redis
    /// refuses BYSCORE, BYLEX and REV among their words as syntax errors.
    struct RangeOptions {
        enum Kind { case rank, score, lex }
        var kind: Kind?
        var reverse: Bool?
        var withScores = false
        var offset = 0
        var limit = -1
        var limited = false
        /// ZRANGESTORE: no WITHSCORES.
        var storing = false
    }

    /// Members ZRANGE's arguments (`key start stop` and its words) choose, in reply order.
    typealias Entries = [(score: Double, member: [UInt8])]

    static func range(_ session: Session, _ arguments: [[UInt8]], _ fixed: RangeOptions) throws(CommandError) -> RESPValue {
        let (entries, withScores) = try rangeEntries(session, arguments, fixed)
        return render(entries, withScores: withScores)
    }

    static func rangeEntries(_ session: Session, _ arguments: [[UInt8]], _ fixed: RangeOptions) throws(CommandError) -> (Entries, Bool) {
        var options = fixed
        var index = 3
        while index < arguments.count {
            let word = arguments[index].text.uppercased()
            let left = arguments.count - index - 1
            switch word {
            case "WITHSCORES" where !options.storing: options.withScores = true
            case "LIMIT" where left >= 2:
                options.offset = try int(arguments[index + 1])
                options.limit = try int(arguments[index + 2])
                options.limited = true
                index += 2
            case "REV" where options.reverse == nil: options.reverse = true
            case "BYSCORE" where options.kind == nil: options.kind = .score
            case "BYLEX" where options.kind == nil: options.kind = .lex
            default: throw .syntax
            }
            index += 1
        }
        let kind = options.kind ?? .rank, reverse = options.reverse ?? false
        if options.limited && kind == .rank {
            throw CommandError(message: "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        }
        if options.withScores && kind == .lex {
            throw CommandError(message: "ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        }
        // With REV the bounds come max first, as in Redis.
        let (first, second) = reverse ? (arguments[2], arguments[1]) : (arguments[1], arguments[2])
        let set: SortedSet?
        let ranks: Range<Int>
        switch kind {
        case .rank:
            return (try byRank(session, arguments, reverse: reverse), options.withScores)
        case .score:
            guard let low = ScoreBound(first), let high = ScoreBound(second) else {
                throw CommandError(message: "ERR min or max is not a float")
            }
            set = try session.sortedSet(arguments[0])
            ranks = set?.ranks(scoreFrom: low, to: high) ?? 0..<0
        case .lex:
            guard let low = LexBound(first), let high = LexBound(second) else { throw lexRangeError }
            set = try session.sortedSet(arguments[0])
            ranks = set?.ranks(lexFrom: low, to: high) ?? 0..<0
        }
        // LIMIT as Redis walks it: a negative offset skips past the end, a negative count takes all.
        guard options.offset >= 0, let set else { return ([], options.withScores) }
        let skipped = min(options.offset, ranks.count)
        let taken = options.limit < 0 ? ranks.count - skipped : min(options.limit, ranks.count - skipped)
        let window = reverse ? (ranks.upperBound - skipped - taken)..<(ranks.upperBound - skipped)
            : (ranks.lowerBound + skipped)..<(ranks.lowerBound + skipped + taken)
        let entries = set.range(window)
        return (reverse ? entries.reversed() : entries, options.withScores)
    }

    static func byRank(_ session: Session, _ arguments: [[UInt8]], reverse: Bool) throws(CommandError) -> Entries {
        let (start, stop) = (try int(arguments[1]), try int(arguments[2]))   // read before the key is, as Redis does
        let set = try session.sortedSet(arguments[0]) ?? SortedSet()
        guard let ranks = clamp(start, stop, count: set.count) else { return [] }
        let chosen = reverse
            ? Array(set.range((set.count - 1 - ranks.upperBound)...(set.count - 1 - ranks.lowerBound)).reversed())
            : Array(set.range(ranks))
        return chosen
    }

    static func render(_ entries: [(score: Double, member: [UInt8])], withScores: Bool) -> RESPValue {
        .array(entries.flatMap { entry -> [RESPValue] in
            withScores ? [.bulkString(entry.member), .double(entry.score)] : [.bulkString(entry.member)]
        }).pairedIf(withScores)
    }

    /// A score as a small Redis sorted set keeps it: its listpack writes -0 as the
    /// integer 0, so ZSCORE answers "0" even where ZINCRBY's own reply said "-0".
    static func stored(_ score: Double) -> Double { score == 0 ? 0 : score }
}
