extension Commands {
    /// Sorted sets popped from several keys, and the blocking pops (which wait in BlockingPops.swift).
    static let sortedSetPops: [String: Command] = [
        "zmpop": one(-4) { (session, arguments) throws(CommandError) in
            let request = try MultiPop(arguments[...], side: minOrMax)
            for key in request.keys {
                if let reply = try session.take(from: key, .sortedSet(highest: !request.front, count: request.count)) { return reply }
            }
            return .array(nil)
        },
        "bzmpop": Command(arity: -5) { (session, arguments) throws(CommandError) in
            let request = try MultiPop(arguments.dropFirst(), side: minOrMax)
            return try session.blockingPop(request.keys, timeout: arguments[0], .sortedSet(highest: !request.front, count: request.count))
        },
        "bzpopmin": Command(arity: -3) { (session, arguments) throws(CommandError) in
            try session.blockingPop(Array(arguments.dropLast()), timeout: arguments[arguments.count - 1], .sortedSet(highest: false, count: nil))
        },
        "bzpopmax": Command(arity: -3) { (session, arguments) throws(CommandError) in
            try session.blockingPop(Array(arguments.dropLast()), timeout: arguments[arguments.count - 1], .sortedSet(highest: true, count: nil))
        },
    ]

    /// MIN or MAX: true for the lowest scores.
    static func minOrMax(_ argument: [UInt8]) throws(CommandError) -> Bool {
        switch argument.text.uppercased() {
        case "MIN": return true
        case "MAX": return false
        default: throw .syntax
        }
    }
}
