import NIOCore

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

    /// Appends each reply's wire form. A loop rather than `forEach`: a closure that
    /// captures the buffer boxes it, and every access to the box is checked at run time.
    func write(to buffer: inout ByteBuffer, resp3: Bool) {
        switch self {
        case .one(let reply): reply.write(to: &buffer, resp3: resp3)
        case .many(let replies): for reply in replies { reply.write(to: &buffer, resp3: resp3) }
        }
    }

    func forEach(_ body: (RESPValue) -> Void) {
        switch self {
        case .one(let reply): body(reply)
        case .many(let replies): replies.forEach(body)
        }
    }
}
