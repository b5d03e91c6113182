import NIOCore

/// A client waiting in BLPOP/BRPOP for one of its keys to get an element.
final class BlockedClient {
    let session: Session
    let database: Int
    let keys: [[UInt8]]
    let front: Bool
    var done = false

    init(session: Session, database: Int, keys: [[UInt8]], front: Bool) {
        self.session = session
        self.database = database
        self.keys = keys
        self.front = front
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
            guard case .list? = databases[database].get(key, now: Store.now()),
                  let item = try? client.session.mutateList(key, { client.front ? $0.popFirst() : $0.popLast() }) else {
                waiters[waitKey, default: []].insert(client, at: 0)
                return
            }
            client.session.unblock(with: .array([.bulkString(key), .bulkString(item)]))
        }
    }
}

struct WaitKey: Hashable {
    let database: Int
    let key: [UInt8]
}

extension Session {
    /// BLPOP/BRPOP: pops at once when it can; otherwise the connection waits
    /// (reading nothing else) until a push or the timeout (0 waits for ever).
    func blockingPop(_ arguments: [[UInt8]], front: Bool) throws(CommandError) -> [RESPValue] {
        let keys = Array(arguments.dropLast())
        let timeout = try Self.timeout(arguments.last!, now: now)
        for key in keys {
            guard try list(key) != nil, let item = try mutateList(key, { front ? $0.popFirst() : $0.popLast() }) else { continue }
            return [.array([.bulkString(key), .bulkString(item)])]
        }
        if inTransaction || scheduleTimeout == nil { return [.array(nil)] }
        let client = BlockedClient(session: self, database: database, keys: keys, front: front)
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
