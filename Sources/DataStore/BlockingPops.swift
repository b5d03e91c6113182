import NIOCore

/// A client waiting in BLPOP, BRPOP, BLMPOP, BLMOVE or BRPOPLPUSH for one of its
/// keys to get an element.
final class BlockedClient {
    /// What the client takes from the first of its lists that has an element.
    enum Pop {
        /// BLPOP and BRPOP: one element, answered with its key.
        case one(front: Bool)
        /// BLMPOP: up to `count` elements, answered with their key.
        case many(front: Bool, count: Int)
        /// BLMOVE and BRPOPLPUSH: one element, pushed onto `destination`.
        case move(front: Bool, destination: [UInt8], toFront: Bool)
    }

    let session: Session
    let database: Int
    let keys: [[UInt8]]
    let pop: Pop
    var done = false

    init(session: Session, database: Int, keys: [[UInt8]], pop: Pop) {
        self.session = session
        self.database = database
        self.keys = keys
        self.pop = pop
    }
}

extension Store {
    /// Clients waiting on a list key, first come first served.
    func wait(_ client: BlockedClient) {
        for key in client.keys { waiters[WaitKey(database: client.database, key: key), default: []].append(client) }
    }

    /// After a command: serves the clients blocked on keys that got a list.
    func serveReadyKeys() {
        while !readyKeys.isEmpty {
            let ready = readyKeys
            readyKeys.removeAll()
            for key in ready { serveWaiters(database: key.database, key: key.key) }
        }
    }

    /// Hands elements to the clients waiting on this key, oldest first.
    func serveWaiters(database: Int, key: [UInt8]) {
        let waitKey = WaitKey(database: database, key: key)
        while var queue = waiters[waitKey], !queue.isEmpty {
            let client = queue.removeFirst()
            waiters[waitKey] = queue.isEmpty ? nil : queue
            guard !client.done else { continue }
            guard case .list? = databases[database].get(key, now: Store.now()) else {
                waiters[waitKey, default: []].insert(client, at: 0)
                return
            }
            // A BLMOVE whose destination now holds another type is answered WRONGTYPE, as in Redis.
            let reply: RESPValue?
            do { reply = try client.session.take(from: key, client.pop) } catch { reply = .error(error.message) }
            client.session.unblock(with: reply ?? .array(nil))
        }
    }
}

struct WaitKey: Hashable {
    let database: Int
    let key: [UInt8]
}

extension Session {
    /// The blocking pops: take at once when a key has an element; otherwise the
    /// connection waits (reading nothing else) until a command gives one of the keys
    /// a list, or the timeout (0 waits for ever). Inside a transaction they answer
    /// at once, as a timeout would (BLMOVE with a null string, as Redis does).
    func blockingPop(_ keys: [[UInt8]], timeout argument: [UInt8], _ pop: BlockedClient.Pop) throws(CommandError) -> [RESPValue] {
        let timeout = try Self.timeout(argument, now: now)
        for key in keys {
            if let reply = try take(from: key, pop) { return [reply] }
        }
        if inTransaction || scheduleTimeout == nil {
            if case .move = pop { return [.null] }
            return [.array(nil)]
        }
        let client = BlockedClient(session: self, database: database, keys: keys, pop: pop)
        blocked = client
        store.wait(client)
        if timeout > 0 {
            scheduleTimeout?(timeout) { [weak self] in
                guard let self, !client.done else { return }
                self.unblock(with: .array(nil))
            }
        }
        return []
    }

    /// Takes what `pop` asks for from the list at `key`; nil when there is no list.
    func take(from key: [UInt8], _ pop: BlockedClient.Pop) throws(CommandError) -> RESPValue? {
        guard try list(key) != nil else { return nil }
        switch pop {
        case .one(let front):
            let item = try mutateList(key) { front ? $0.popFirst() : $0.popLast() }
            notify(.lists, front ? "lpop" : "rpop", key)
            return .array([.bulkString(key), .bulkString(item)])
        case .many(let front, let count):
            let items = try mutateList(key) { list in
                var items: [[UInt8]] = []
                while items.count < count, let item = front ? list.popFirst() : list.popLast() { items.append(item) }
                return items
            }
            notify(.lists, front ? "lpop" : "rpop", key)
            return .array([.bulkString(key), Commands.bulkArray(items)])
        case .move(let front, let destination, let toFront):
            return try Commands.move(self, key, destination, fromFront: front, toFront: toFront)
        }
    }

    func unblock(with reply: RESPValue) {
        guard let client = blocked else { return }
        client.done = true
        blocked = nil
        pushReply(reply)
        resume?()
    }
}

extension Session {
    /// A blocking command's timeout in seconds, judged as Redis 7.0 does: the value
    /// times 1000 converted to a 64-bit integer, where anything past its range comes
    /// out negative (C's conversion), so `inf` and huge values are "negative" too.
    static func timeout(_ argument: [UInt8], now: Int64) throws(CommandError) -> Double {
        guard let seconds = Double(String(decoding: argument, as: UTF8.self)), !seconds.isNaN else {
            throw CommandError(message: "ERR timeout is not a float or out of range")
        }
        let milliseconds = seconds * 1000
        guard milliseconds > -9.223372036854775808e18, milliseconds < 9.223372036854775808e18, milliseconds >= 0 else {
            throw CommandError(message: "ERR timeout is negative")
        }
        guard Int64(milliseconds) <= Int64.max - now else { throw CommandError(message: "ERR timeout is out of range") }
        return seconds
    }
}
