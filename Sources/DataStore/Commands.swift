import CPulseSystem
import Foundation
import NIOCore

/// The command table: name, arity (negative: at least that many, the name
/// included, as Redis counts), and what it does.
enum Commands {
    /// The longest reply of repeated random members (SRANDMEMBER with a negative count).
    static let maximumRepeatedMembers = 1_000_000

    struct Command: Sendable {
        let arity: Int
        let run: @Sendable (Session, [[UInt8]]) throws(CommandError) -> [RESPValue]
        /// The same, for a command that always answers once: no array for its reply.
        let runOne: (@Sendable (Session, [[UInt8]]) throws(CommandError) -> RESPValue)?

        init(arity: Int, run: @escaping @Sendable (Session, [[UInt8]]) throws(CommandError) -> [RESPValue]) {
            self.arity = arity
            self.run = run
            runOne = nil
        }

        init(arity: Int, one: @escaping @Sendable (Session, [[UInt8]]) throws(CommandError) -> RESPValue) {
            self.arity = arity
            run = { (session, arguments) throws(CommandError) in [try one(session, arguments)] }
            runOne = one
        }
    }

    /// Wraps a command with one reply.
    static func one(_ arity: Int, _ body: @escaping @Sendable (Session, [[UInt8]]) throws(CommandError) -> RESPValue) -> Command {
        Command(arity: arity, one: body)
    }

    static let table: [String: Command] = connection.merging(strings) { a, _ in a }.merging(keys) { a, _ in a }
        .merging(hashes) { a, _ in a }.merging(lists) { a, _ in a }.merging(sets) { a, _ in a }.merging(pubsub) { a, _ in a }
        .merging(sortedSets) { a, _ in a }.merging(stringRanges) { a, _ in a }.merging(object) { a, _ in a }
        .merging(listMoves) { a, _ in a }.merging(setMoves) { a, _ in a }.merging(sortedSetEdits) { a, _ in a }
        .merging(sortedSetAlgebra) { a, _ in a }.merging(clients) { a, _ in a }.merging(server) { a, _ in a }
        .merging(sortedSetPops) { a, _ in a }.merging(streams) { a, _ in a }
        .merging(streamReads) { a, _ in a }.merging(streamGroups) { a, _ in a }.merging(streamClaims) { a, _ in a }
        .merging(streamInfo) { a, _ in a }

    /// Every command's name, in order: a command's statistics are at its place here.
    static let names: [String] = table.keys.sorted()
    static let slots: [String: Int] = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })

    /// The commands whose key lookups Redis 7.0 makes as writes: not keyspace hits or
    /// misses, no `keymiss` event. (GETDEL and GETEX write, but look up as reads.)
    static let writes: Set<String> = [
        "set", "setnx", "setex", "psetex", "append", "del", "unlink", "incr", "decr", "incrby", "decrby", "incrbyfloat", "getset",
        "mset", "msetnx", "setrange", "setbit", "lpush", "rpush", "lpushx", "rpushx", "linsert", "lset", "lrem",
        "ltrim", "lpop", "rpop", "rpoplpush", "lmove", "blmove", "brpoplpush", "blpop", "brpop", "lmpop", "blmpop", "sadd", "srem",
        "spop", "smove", "sinterstore", "sunionstore", "sdiffstore", "hset", "hsetnx", "hmset", "hdel", "hincrby", "hincrbyfloat",
        "zadd", "zincrby", "zrem", "zremrangebyscore", "zremrangebyrank", "zremrangebylex", "zpopmin", "zpopmax", "bzpopmin",
        "bzpopmax", "zmpop", "bzmpop", "zunionstore", "zinterstore", "zdiffstore", "zrangestore", "expire", "pexpire", "expireat",
        "pexpireat", "persist", "rename", "renamenx", "move", "copy", "flushdb", "flushall", "swapdb", "xadd", "xdel", "xtrim",
        "xgroup", "xreadgroup", "xack", "xclaim", "xautoclaim", "xsetid",
    ]

    /// Commands whose first argument names a subcommand: their statistics and CLIENT
    /// LIST's `cmd` name both (`client|list`), as Redis 7 does.
    static let containers: Set<String> = ["client", "config", "object", "command", "pubsub", "xinfo", "xgroup", "memory",
                                          "slowlog", "latency", "acl", "function", "script", "cluster", "module"]

    /// A command name as a client spells it (`SET`, `set`), resolved once: the work
    /// every call would otherwise repeat (lower-casing, the table and the sets above).
    final class Resolved {
        let name: String
        let command: Command
        let isWrite: Bool
        let isContainer: Bool
        /// MULTI, EXEC, DISCARD, WATCH or UNWATCH, which the session runs itself.
        let isTransactionControl: Bool
        /// Its place in `Commands.names`, where its statistics are kept.
        let slot: Int

        init?(_ spelling: [UInt8]) {
            name = String(decoding: spelling, as: UTF8.self).lowercased()
            guard let command = Commands.table[name], let slot = Commands.slots[name] else { return nil }
            self.slot = slot
            self.command = command
            isWrite = Commands.writes.contains(name)
            isContainer = Commands.containers.contains(name)
            isTransactionControl = ["multi", "exec", "discard", "watch", "unwatch"].contains(name)
        }
    }

    // MARK: - Helpers

    static func int(_ bytes: [UInt8]) throws(CommandError) -> Int {
        guard let value = integer(bytes) else { throw .notInteger }
        return value
    }

    /// A 64-bit integer as Redis's string2ll reads one: an optional minus, then digits
    /// with no leading zero ("0" alone is fine), so "+1", "007" and "-0" are not integers.
    static func integer(_ bytes: [UInt8]) -> Int? {
        let digits = bytes.first == UInt8(ascii: "-") ? bytes.dropFirst() : bytes[...]
        guard let first = digits.first, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              first != UInt8(ascii: "0") || bytes.count == 1 else { return nil }
        return RESPRequestParser.integer(bytes)
    }

    /// The decimal digits of `value`, as a string value holds a number.
    /// (Written on the stack, then copied: see `ShortString.bytes` for why.)
    static func decimal(_ value: Int) -> [UInt8] {
        withUnsafeTemporaryAllocation(byteCount: 20, alignment: 1) { digits in
            var count = 0
            RESPValue.putDecimal(value, into: digits, at: &count)
            return Array(UnsafeRawBufferPointer(rebasing: digits[0..<count]))
        }
    }

    /// A score or timeout, read as Redis reads it (strtod over all of it; no NaN, no overflow).
    static func double(_ bytes: [UInt8]) throws(CommandError) -> Double {
        var value = 0.0
        let parsed = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { pulse_parse_double($0.baseAddress, $0.count, &value) }
        }
        guard parsed == 1 else { throw .notFloat }
        return value
    }

    /// A score as Redis 7.0 replies with it: "%.17g" (0.1 is 0.10000000000000001).
    static func format(_ value: Double) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buffer in
            let length = pulse_format_score(value, buffer.baseAddress, buffer.count)
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: max(0, Int(length))), as: UTF8.self)
        }
    }

    /// Why INCRBYFLOAT or HINCRBYFLOAT refused to add.
    enum FloatIncrementError: Error { case currentNotFloat, incrementNotFloat, infiniteIncrement, notFinite }

    /// `current` (nil when missing) plus `increment`, computed and written as Redis does
    /// it, in long double: 1e400 is a number, 0.1 + 0.2 is "0.3", 1e20 has all its digits.
    static func addFloat(_ current: [UInt8]?, _ increment: [UInt8], finiteIncrement: Bool) throws(FloatIncrementError) -> [UInt8] {
        // A long double's longest "%.17Lf" text is under 5,000 bytes.
        let capacity = 5 * 1024 + 64
        var output = [UInt8](repeating: 0, count: capacity)
        let length = output.withUnsafeMutableBufferPointer { out in
            out.withMemoryRebound(to: CChar.self) { out in
                increment.withUnsafeBufferPointer { amount in
                    amount.withMemoryRebound(to: CChar.self) { amount in
                        if let current {
                            current.withUnsafeBufferPointer { base in
                                base.withMemoryRebound(to: CChar.self) { base in
                                    pulse_increment_float(base.baseAddress ?? amount.baseAddress, base.count, amount.baseAddress, amount.count,
                                                          finiteIncrement ? 1 : 0, out.baseAddress, out.count)
                                }
                            }
                        } else {
                            pulse_increment_float(nil, 0, amount.baseAddress, amount.count, finiteIncrement ? 1 : 0, out.baseAddress, out.count)
                        }
                    }
                }
            }
        }
        switch length {
        case -1: throw .currentNotFloat
        case -2: throw .incrementNotFloat
        case -3: throw .infiniteIncrement
        case let length where length < 0: throw .notFinite
        default: return Array(output[..<length])
        }
    }

    static func bulkArray(_ items: some Sequence<[UInt8]>) -> RESPValue { .array(items.map { .bulkString($0) }) }
    static func bulkArray(_ items: some Sequence<StoreKey>) -> RESPValue { .array(items.map { .bulkString($0.bytes) }) }

    // MARK: - Connection and server

    static let connection: [String: Command] = [
        "ping": one(-1) { (session, arguments) throws(CommandError) in
            guard arguments.count <= 1 else { throw .arity("ping") }
            // A subscribed client gets pushes on the same connection: a pong is an array too.
            if session.isSubscribed, !session.resp3 { return .array([.bulk("pong"), .bulkString(arguments.first ?? [])]) }
            return arguments.first.map { .bulkString($0) } ?? .simpleString("PONG")
        },
        "echo": one(2) { _, arguments in .bulkString(arguments[0]) },
        "quit": one(1) { session, _ in
            session.closeAfterReply = true
            return .ok
        },
        "select": one(2) { (session, arguments) throws(CommandError) in
            let index = try int(arguments[0])
            guard (0..<Store.databaseCount).contains(index) else { throw CommandError(message: "ERR DB index is out of range") }
            session.database = index
            return .ok
        },
        "auth": one(-2) { (session, arguments) throws(CommandError) in
            guard let password = session.store.password else {
                throw CommandError(message: "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
            }
            guard arguments.last?.text == password else {
                throw CommandError(message: "WRONGPASS invalid username-password pair or user is disabled.")
            }
            session.authenticated = true
            return .ok
        },
        "hello": one(-1) { (session, arguments) throws(CommandError) in try hello(session, arguments) },
        // Every key held, as Redis 7 counts them (dictSize): one whose time is up counts
        // until a lookup or the sweep forgets it. O(1), where listing the live keys was O(n).
        "dbsize": one(1) { session, _ in .integer(session.db.values.count) },
        "flushdb": one(-1) { session, _ in
            session.db.flush()
            session.store.changes += 1
            return .ok
        },
        "flushall": one(-1) { session, _ in
            for database in session.store.databases { database.flush() }
            session.store.changes += 1
            return .ok
        },
        "time": one(1) { _, _ in
            let now = Date().timeIntervalSince1970
            return .array([.bulk(String(Int(now))), .bulk(String(Int((now - now.rounded(.down)) * 1_000_000)))])
        },
        // Enough for redis-cli's start-up (COMMAND DOCS for its hints) and for scripts.
        "command": one(-1) { _, arguments in
            switch arguments.first?.text.lowercased() {
            case "count"?: return .integer(table.count)
            case "docs"?: return .map([])
            case "info"?: return .array([])
            default: return bulkArray(table.keys.sorted().map { Array($0.utf8) })
            }
        },
        "save": one(1) { (session, _) throws(CommandError) in
            // The background save writes the same file: as Redis, SAVE waits its turn.
            guard !session.store.saving.withLockedValue({ $0 }) else {
                throw CommandError(message: "ERR Background save already in progress")
            }
            do { try session.store.save() } catch { throw CommandError(message: "ERR \(error)") }
            return .ok
        },
        "bgsave": one(-1) { (session, _) throws(CommandError) in
            guard session.store.snapshotPath != nil else { throw CommandError(message: "ERR no snapshot file configured") }
            guard session.store.backgroundSave() else { throw CommandError(message: "ERR Background save already in progress") }
            return .simpleString("Background saving started")
        },
        "lastsave": one(1) { session, _ in .integer(Int(session.store.lastSave.timeIntervalSince1970)) },
        // Handled by the session itself; here for arity and COMMAND.
        "multi": one(1) { _, _ in .ok },
        "exec": one(1) { _, _ in .ok },
        "discard": one(1) { _, _ in .ok },
        "watch": one(-2) { _, _ in .ok },
        "unwatch": one(1) { _, _ in .ok },
        "reset": one(1) { session, _ in
            // As Redis's clearClientConnectionState: a new connection's state, unauthenticated again.
            session.close()
            session.database = 0
            session.resp3 = false
            session.name = nil
            session.repliesOff = false
            session.skipNextReply = false
            session.authenticated = session.store.password == nil
            return .simpleString("RESET")
        },
    ]
}
