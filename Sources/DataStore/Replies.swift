/// A request's replies: most commands answer once, (un)subscribe once per channel,
/// a blocked command not yet.
enum Replies {
    case one(RESPValue)
    case many([RESPValue])

    var all: [RESPValue] {
        switch self {
        case .one(let reply): [reply]
        case .many(let replies): replies
        }
    }

    func forEach(_ body: (RESPValue) -> Void) {
        switch self {
        case .one(let reply): body(reply)
        case .many(let replies): replies.forEach(body)
        }
    }
}
