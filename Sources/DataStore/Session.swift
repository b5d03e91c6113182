import CPulseSystem
import Foundation
import NIOCore

/// A reply that is an error, with Redis's exact wording.
struct CommandError: Error {
    let message: String
    static let wrongType = CommandError(message: "WRONGTYPE Operation against a key holding the wrong kind of value")
    static let notInteger = CommandError(message: "ERR value is not an integer or out of range")
    static let notFloat = CommandError(message: "ERR value is not a valid float")
    static let syntax = CommandError(message: "ERR syntax error")
    static let noSuchKey = CommandError(message: "ERR no such key")
    static func arity(_ name: String) -> CommandError {
        CommandError(message: "ERR wrong number of arguments for '\(name)' command")
    }
}

/// One client connection's state (database, name, subscriptions) and the command
/// dispatcher that runs its requests against the store.
final class Session {
    let store: Store
    let id: Int
    let address: String
    let localAddress: String
    /// When the connection was made and last ran a command (ms since 1970; CLIENT LIST's age and idle).
    let createdAt = Store.now()
    @exclusivity(unchecked) var lastInteraction = Store.now()
    /// The last command, with its subcommand (`client|list`), as CLIENT LIST shows it.
    @exclusivity(unchecked) var lastCommand = "NULL"
    /// Whether the running command's key lookups count as INFO's keyspace hits and
    /// misses: a read command's do, a write command's do not (Redis's lookupKeyWrite).
    @exclusivity(unchecked) private(set) var readsCountAsLookups = true
    /// Collections the running command emptied (and so deleted): their `del` event
    /// follows the command's own.
    @exclusivity(unchecked) var emptied: [[UInt8]] = []
    /// CLIENT REPLY OFF and SKIP: no replies at all, or none to the next command.
    @exclusivity(unchecked) var repliesOff = false
    @exclusivity(unchecked) var skipNextReply = false
    /// Closes the connection (CLIENT KILL); set by the connection.
    var disconnect: (() -> Void)?
    /// Bytes read but not yet run, and bytes of pushes not yet written (CLIENT LIST's qbuf and omem).
    var pendingInput: () -> Int = { 0 }
    var pendingOutput: () -> Int = { 0 }
    @exclusivity(unchecked) var database = 0
    var name: String?
    /// Whether the client asked for RESP3 (HELLO 3): replies are written in it.
    @exclusivity(unchecked) var resp3 = false
    @exclusivity(unchecked) var authenticated: Bool
    /// Set when the connection must close after its reply (QUIT).
    @exclusivity(unchecked) var closeAfterReply = false
    /// Commands queued between MULTI and EXEC; nil outside a transaction.
    @exclusivity(unchecked) private var transaction: [[[UInt8]]]?
    @exclusivity(unchecked) private var transactionFailed = false
    @exclusivity(unchecked) private var executingTransaction = false
    /// Keys watched for EXEC, with their version when watched.
    private var watched: [(database: Int, key: [UInt8], version: Int)] = []
    /// Set while a blocking pop waits; the connection reads no further requests meanwhile.
    @exclusivity(unchecked) var blocked: BlockedClient?
    /// How the connection schedules a blocked client's timeout (on its event loop).
    var scheduleTimeout: ((Double, @escaping () -> Void) -> Void)?
    /// Called when a blocked client is served or times out, to go on with the pipeline.
    var resume: (() -> Void)?
    @exclusivity(unchecked) private(set) var channels: Set<[UInt8]> = []
    @exclusivity(unchecked) private(set) var patterns: Set<[UInt8]> = []
    private var subscriber: PubSubHub.Subscriber?
    private let push: (RESPValue) -> Void

    init(store: Store, id: Int, address: String, localAddress: String = "?", push: @escaping (RESPValue) -> Void) {
        self.store = store
        self.id = id
        self.address = address
        self.localAddress = localAddress
        self.push = push
        authenticated = store.password == nil
    }

    var db: Database { store.databases[database] }
    /// The time (ms since 1970) a command sees: read once as it starts, as Redis 7
    /// freezes it for the length of a command; read afresh outside a command.
    var now: Int64 { commandTime ?? Store.now() }
    @exclusivity(unchecked) private var commandTime: Int64?
    var isSubscribed: Bool { !channels.isEmpty || !patterns.isEmpty }
    var inTransaction: Bool { transaction != nil || executingTransaction }
    /// Commands queued by MULTI; nil outside one (CLIENT LIST's multi=-1).
    var queuedCount: Int? { transaction?.count }
    /// Whether a watched key changed since it was watched: EXEC will fail (flag `d`).
    var watchedKeyChanged: Bool {
        watched.contains { store.databases[$0.database].version(of: $0.key) != $0.version }
    }

    /// Writes a reply outside the request/answer rhythm (a served blocking pop).
    func pushReply(_ reply: RESPValue) { push(reply) }

    /// Runs one request; most commands answer once, (un)subscribe once per channel.
    /// Clients blocked on keys the request filled are served after it (after EXEC,
    /// for a transaction), with the state it left.
    func execute(_ arguments: consuming [[UInt8]]) -> [RESPValue] {
        guard let name = arguments.first else { return [] }
        return respond(name: name, arguments: Array(arguments.dropFirst())).all
    }

    /// `execute`'s work, its replies as they came: one reply, the usual case, is not
    /// put in an array (an allocation per command).
    func respond(name: [UInt8], arguments: consuming [[UInt8]]) -> Replies {
        let replies = dispatch(name, arguments)
        if !emptied.isEmpty { notifyEmptied() }
        replies.forEach { reply in
            if case .error(let message) = reply { store.stats.noteError(message) }
        }
        if !executingTransaction, !store.readyKeys.isEmpty { store.serveReadyKeys() }
        return replies
    }

    /// The command this client named last: a client that repeats one (a pipeline, a
    /// loop) finds it without hashing its name; the parser hands the same array again.
    @exclusivity(unchecked) private var lastResolved: (spelling: [UInt8], command: Commands.Resolved)?

    private func resolve(_ spelling: [UInt8]) -> Commands.Resolved? {
        if let last = lastResolved, last.spelling == spelling { return last.command }
        guard let resolved = store.resolve(spelling) else { return nil }
        lastResolved = (spelling, resolved)
        return resolved
    }

    /// `arguments` without the name: what the command runs with, the parser's own
    /// array, not a copy.
    private func dispatch(_ first: [UInt8], _ arguments: consuming [[UInt8]]) -> Replies {
        store.commandsProcessed += 1
        let time = Store.now()
        lastInteraction = time
        let outer = commandTime
        commandTime = time
        defer { commandTime = outer }
        guard let resolved = resolve(first) else {
            if transaction != nil { transactionFailed = true }   // EXEC will say EXECABORT
            let shown = arguments.prefix(3).map { "'\(String(decoding: $0, as: UTF8.self))' " }.joined()
            return .one(.error("ERR unknown command '\(String(decoding: first, as: UTF8.self))', with args beginning with: \(shown)"))
        }
        let (name, command) = (resolved.name, resolved.command)
        readsCountAsLookups = !resolved.isWrite
        let fullName = resolved.isContainer && !arguments.isEmpty ? "\(name)|\(arguments[0].text.lowercased())" : name
        lastCommand = fullName
        if let refusal = refusal(name, fullName, command, count: arguments.count + 1) {
            store.stats.update(resolved, fullName: fullName) { $0.rejected += 1 }
            return .one(.error(refusal))
        }
        if resolved.isTransactionControl, let replies = transactionControl(name, keys: arguments) {
            store.stats.update(resolved, fullName: fullName) { $0.record(microseconds: 0, failed: replies.first?.isError ?? false) }
            return .many(replies)
        }
        if transaction != nil, name == "save" {
            transactionFailed = true
            store.stats.update(resolved, fullName: fullName) { $0.rejected += 1 }
            return .one(.error("ERR Command not allowed inside a transaction"))
        }
        if transaction != nil, name != "quit", name != "reset" {
            transaction!.append([first] + arguments)
            return .one(.simpleString("QUEUED"))
        }
        let started = pulse_monotonic_ns()
        var replies: Replies
        var failed = false
        do {
            if let runOne = command.runOne {
                replies = .one(try runOne(self, arguments))
            } else {
                replies = .many(try command.run(self, arguments))
            }
        } catch {
            replies = .one(.error(error.message))
            failed = true
        }
        let elapsed = Int((pulse_monotonic_ns() &- started) / 1000)
        store.stats.update(resolved, fullName: fullName) { $0.record(microseconds: elapsed, failed: failed) }
        return replies
    }

    /// Why a command may not run now (before it is queued or run), as Redis says it.
    private func refusal(_ name: String, _ fullName: String, _ command: Commands.Command, count: Int) -> String? {
        if !authenticated, name != "auth", name != "hello", name != "quit" {
            return "NOAUTH Authentication required."
        }
        // A RESP3 client gets pushes apart from replies: it may run any command while subscribed.
        if isSubscribed, !resp3, !["subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ping", "quit", "reset"].contains(name) {
            return "ERR Can't execute '\(fullName)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        }
        guard command.arity >= 0 ? count == command.arity : count >= -command.arity else {
            if transaction != nil { transactionFailed = true }
            return CommandError.arity(name).message
        }
        return nil
    }

    /// MULTI, EXEC, DISCARD, WATCH and UNWATCH, which the session runs itself; nil for any other command.
    /// `keys`: the arguments after the name (WATCH's keys).
    private func transactionControl(_ name: String, keys: [[UInt8]]) -> [RESPValue]? {
        switch name {
        case "multi":
            guard transaction == nil else { return [.error("ERR MULTI calls can not be nested")] }
            transaction = []
            transactionFailed = false
            return [.ok]
        case "exec":
            return [exec()]
        case "discard":
            guard transaction != nil else { return [.error("ERR DISCARD without MULTI")] }
            transaction = nil
            unwatchAll()
            return [.ok]
        case "watch":
            guard transaction == nil else { return [.error("ERR WATCH inside MULTI is not allowed")] }
            for key in keys {
                _ = db.get(key, now: now)   // already expired: gone before it is watched, as with Redis
                watched.append((database, key, db.watch(key)))
            }
            return [.ok]
        case "unwatch":
            unwatchAll()
            return [.ok]
        default:
            return nil
        }
    }

    /// Runs the queued commands in one go, unless a watched key changed (null reply)
    /// or a command was refused while queueing (EXECABORT).
    private func exec() -> RESPValue {
        guard let queued = transaction else { return .error("ERR EXEC without MULTI") }
        transaction = nil
        defer { unwatchAll() }
        if transactionFailed { return .error("EXECABORT Transaction discarded because of previous errors.") }
        for watch in watched {
            // A watched key that expired meanwhile changed too (Redis 7): let it expire now.
            let database = store.databases[watch.database]
            _ = database.get(watch.key, now: now)
            if database.version(of: watch.key) != watch.version { return .array(nil) }
        }
        executingTransaction = true
        defer { executingTransaction = false }
        return .array(queued.map { arguments in
            // Blocking commands do not block inside a transaction: they answer at once.
            execute(arguments).first ?? .array(nil)
        })
    }

    // MARK: - Pub/sub

    func subscribe(_ names: [[UInt8]], pattern: Bool) -> [RESPValue] {
        let subscriber = self.subscriber ?? PubSubHub.Subscriber(deliver: push)
        self.subscriber = subscriber
        return names.map { name in
            if pattern {
                patterns.insert(name)
                store.pubsub.psubscribe(subscriber, pattern: name)
            } else {
                channels.insert(name)
                store.pubsub.subscribe(subscriber, channel: name)
            }
            return .push([.bulk(pattern ? "psubscribe" : "subscribe"), .bulkString(name), .integer(channels.count + patterns.count)])
        }
    }

    func unsubscribe(_ names: [[UInt8]], pattern: Bool) -> [RESPValue] {
        let targets = names.isEmpty ? Array(pattern ? patterns : channels) : names
        let kind = pattern ? "punsubscribe" : "unsubscribe"
        guard !targets.isEmpty else { return [.push([.bulk(kind), .null, .integer(channels.count + patterns.count)])] }
        return targets.map { name in
            if let subscriber {
                if pattern {
                    patterns.remove(name)
                    store.pubsub.punsubscribe(subscriber, pattern: name)
                } else {
                    channels.remove(name)
                    store.pubsub.unsubscribe(subscriber, channel: name)
                }
            }
            return .push([.bulk(kind), .bulkString(name), .integer(channels.count + patterns.count)])
        }
    }

    func unwatchAll() {
        for watch in watched { store.databases[watch.database].unwatch(watch.key) }
        watched.removeAll()
    }

    /// The connection closed (or RESET): leave every channel, stop waiting, forget
    /// the transaction and the watched keys.
    func close() {
        if let blocked {
            blocked.done = true
            store.unwait(blocked)
        }
        blocked = nil
        transaction = nil
        unwatchAll()
        _ = unsubscribe([], pattern: false)
        _ = unsubscribe([], pattern: true)
    }
}

extension [UInt8] {
    var text: String { String(decoding: self, as: UTF8.self) }
}
