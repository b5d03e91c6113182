extension Commands {
    /// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD. Plain sets count as
    /// sorted sets whose scores are all 1, as in Redis.
    static let sortedSetAlgebra: [String: Command] = [
        "zunion": one(-3) { (session, arguments) throws(CommandError) in try combineSorted(session, arguments, .union, "zunion") },
        "zinter": one(-3) { (session, arguments) throws(CommandError) in try combineSorted(session, arguments, .intersection, "zinter") },
        "zdiff": one(-3) { (session, arguments) throws(CommandError) in try combineSorted(session, arguments, .difference, "zdiff") },
        "zunionstore": one(-4) { (session, arguments) throws(CommandError) in try combineSorted(session, arguments, .union, "zunionstore") },
        "zinterstore": one(-4) { (session, arguments) throws(CommandError) in
            try combineSorted(session, arguments, .intersection, "zinterstore")
        },
        "zdiffstore": one(-4) { (session, arguments) throws(CommandError) in try combineSorted(session, arguments, .difference, "zdiffstore") },
        "zintercard": one(-3) { (session, arguments) throws(CommandError) in
            try combineSorted(session, arguments, .intersection, "zintercard")
        },
    ]

    enum Aggregate { case sum, min, max }

    /// What the words of one of these commands ask for, read in Redis's order: the
    /// key count, the keys (their types checked), then WEIGHTS, AGGREGATE,
    /// WITHSCORES or LIMIT where the command has them.
    struct SortedSetCombination {
        let operation: SetOperation
        let destination: [UInt8]?
        let countOnly: Bool
        var inputs: [[[UInt8]: Double]?] = []
        var weights: [Double] = []
        var aggregate = Aggregate.sum
        var withScores = false
        var limit = 0

        init(_ session: Session, _ arguments: [[UInt8]], _ operation: SetOperation, _ name: String) throws(CommandError) {
            self.operation = operation
            countOnly = name == "zintercard"
            destination = name.hasSuffix("store") ? arguments[0] : nil
            let first = destination == nil ? 0 : 1
            let count = try int(arguments[first])
            guard count >= 1 else { throw CommandError(message: "ERR at least 1 input key is needed for '\(name)' command") }
            guard count <= arguments.count - first - 1 else { throw .syntax }
            for key in arguments[(first + 1)...(first + count)] { inputs.append(try Commands.scores(session, key)) }
            weights = Array(repeating: 1, count: count)
            try readOptions(arguments[(first + count + 1)...])
        }

        private mutating func readOptions(_ words: ArraySlice<[UInt8]>) throws(CommandError) {
            var index = words.startIndex
            let combining = operation != .difference && !countOnly
            while index < words.endIndex {
                let remaining = words.endIndex - index
                switch words[index].text.uppercased() {
                case "WEIGHTS" where combining && remaining > inputs.count:
                    for input in inputs.indices {
                        do { weights[input] = try double(words[index + 1 + input]) } catch {
                            throw CommandError(message: "ERR weight value is not a float")
                        }
                    }
                    index += inputs.count + 1
                case "AGGREGATE" where combining && remaining >= 2:
                    switch words[index + 1].text.uppercased() {
                    case "SUM": aggregate = .sum
                    case "MIN": aggregate = .min
                    case "MAX": aggregate = .max
                    default: throw .syntax
                    }
                    index += 2
                case "WITHSCORES" where destination == nil && !countOnly:
                    withScores = true
                    index += 1
                case "LIMIT" where countOnly && remaining >= 2:
                    guard let number = integer(words[index + 1]), number >= 0 else {
                        throw CommandError(message: "ERR LIMIT can't be negative")
                    }
                    limit = number
                    index += 2
                default: throw .syntax
                }
            }
        }

        /// Redis's aggregation: a sum of +inf and -inf is 0, never NaN.
        func combine(_ total: Double, _ value: Double) -> Double {
            switch aggregate {
            case .sum: let sum = total + value; return sum.isNaN ? 0 : sum
            case .min: return value < total ? value : total
            case .max: return value > total ? value : total
            }
        }

        /// The result, member to score. Inputs are taken smallest first, as Redis
        /// orders them, so sums of three or more add up in the same order.
        func result() -> [[UInt8]: Double] {
            var order = Array(inputs.indices)
            if operation != .difference {
                order.sort { (inputs[$0]?.count ?? 0, $0) < (inputs[$1]?.count ?? 0, $1) }
            }
            func weighted(_ index: Int, _ score: Double) -> Double {
                let value = weights[index] * score
                return value.isNaN ? 0 : value
            }
            var result: [[UInt8]: Double] = [:]
            switch operation {
            case .union:
                for index in order {
                    for (member, score) in inputs[index] ?? [:] {
                        let value = weighted(index, score)
                        result[member] = result[member].map { combine($0, value) } ?? value
                    }
                }
            case .intersection:
                guard let smallest = order.first, let first = inputs[smallest] else { return [:] }
                members: for (member, score) in first {
                    var total = weighted(smallest, score)
                    for index in order.dropFirst() {
                        guard let other = inputs[index]?[member] else { continue members }
                        total = combine(total, weights[index] * other)
                    }
                    result[member] = total
                }
            case .difference:
                guard let first = inputs[0] else { return [:] }
                result = first.filter { member, _ in !inputs.dropFirst().contains { $0?[member] != nil } }
            }
            return result
        }
    }

    /// A sorted set's scores, or a set's members scored 1; nil when missing.
    static func scores(_ session: Session, _ key: [UInt8]) throws(CommandError) -> [[UInt8]: Double]? {
        switch session.lookup(key) {
        case nil: return nil
        case .sortedSet(let set)?: return set.value.scores
        case .set(let set)?: return Dictionary(uniqueKeysWithValues: set.value.map { ($0.bytes, 1.0) })
        default: throw .wrongType
        }
    }

    static func combineSorted(_ session: Session, _ arguments: [[UInt8]], _ operation: SetOperation,
                              _ name: String) throws(CommandError) -> RESPValue {
        let request = try SortedSetCombination(session, arguments, operation, name)
        let result = request.result()
        if request.countOnly { return .integer(request.limit == 0 ? result.count : min(result.count, request.limit)) }
        var set = SortedSet()
        for (member, score) in result { set.set(member, score: request.destination == nil ? score : stored(score)) }
        guard let destination = request.destination else { return render(set.ordered, withScores: request.withScores) }
        storeResult(session, destination, set, event: name)
        return .integer(set.count)
    }
}
