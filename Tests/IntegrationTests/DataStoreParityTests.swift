import Foundation
import Glibc
import Testing

/// The commands of issue 13 against redis-server 7.0: the same commands go to the
/// embedded store and to a redis-server this test starts, and the replies must be
/// the same bytes (random replies by their shape, hash-ordered ones as sorted sets).
@Suite(.blockingAllowed) struct DataStoreParityTests {
    /// Both stores, started fresh, and a connection to each.
    struct Pair {
        let server: PulseServer
        let redis: RedisServer
        let ours: DataStoreSafetyTests.Connection
        let theirs: DataStoreSafetyTests.Connection

        static func start() async throws -> Pair {
            let redis = try await RedisServer.start()
            let server = try PulseServer(arguments: ["-w", "1"])
            try await server.waitForReady(1, service: "ds")
            return Pair(server: server, redis: redis, ours: try DataStoreSafetyTests.Connection(port: try server.port(service: "ds")),
                        theirs: try DataStoreSafetyTests.Connection(port: redis.port))
        }

        /// Each command to both stores in turn: how the replies that differ differ.
        func differences(_ commands: [[String]]) async throws -> [String] {
            try await onThread {
                try commands.compactMap { command -> String? in
                    let (mine, reference) = (try ours.reply(to: command), try theirs.reply(to: command))
                    guard !ParityCommands.same(command, mine, reference) else { return nil }
                    return "\(command.joined(separator: " ")): ours \(DataStoreParityTests.show(mine)), Redis \(DataStoreParityTests.show(reference))"
                }
            }
        }

        /// `count` random commands (DATASTORE_PARITY_SEED replays a run) to both stores:
        /// the first divergence with the commands before it, nil when there is none.
        func divergence(of count: Int, label: String) async throws -> String? {
            let seed = ProcessInfo.processInfo.environment["DATASTORE_PARITY_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
            print("\(label): random sequence seed \(seed) (DATASTORE_PARITY_SEED=\(seed) replays it)")
            return try await onThread { () throws -> String? in
                var generator = RandomCommands(seed: seed)
                var recent: [String] = []
                for index in 0..<count {
                    let command = generator.next()
                    let (mine, reference) = (try ours.reply(to: command), try theirs.reply(to: command))
                    recent = Array((recent + [command.joined(separator: " ")]).suffix(12))
                    guard ParityCommands.same(command, mine, reference) else {
                        return "seed \(seed), command \(index + 1) of \(count): \(command.joined(separator: " "))\n"
                            + "ours \(DataStoreParityTests.show(mine)), Redis \(DataStoreParityTests.show(reference))\nthe commands before it:\n"
                            + recent.dropLast().joined(separator: "\n")
                    }
                }
                return nil
            }
        }

        /// Runs `script` on the embedded store, then on redis-server: what each answered.
        static func transcripts(_ script: (Int) async throws -> [String]) async throws -> [[String]] {
            let pair = try await start()
            defer { pair.server.shutdown() }
            return [try await script(try pair.server.port(service: "ds")), try await script(pair.redis.port)]
        }
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func edgeCasesOfTheNewCommandsAnswerAsRedis7Does() async throws {
        let pair = try await Pair.start()
        defer { pair.server.shutdown() }
        let storePID = try #require(try pair.server.workerPIDs(service: "ds").first)
        let differences = try await pair.differences(ParityCommands.fixed + ParityCommands.streams)
        #expect(differences.isEmpty, "\(differences.count) differ:\n\(differences.joined(separator: "\n"))")
        #expect(try pair.server.workerPIDs(service: "ds") == [storePID], "the store was restarted: it crashed")
    }

    /// Seeded random sequences over eight keys: set DATASTORE_PARITY_SEED to replay one.
    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func randomSequencesAnswerAsRedis7Does() async throws {
        let pair = try await Pair.start()
        defer { pair.server.shutdown() }
        let divergence = try await pair.divergence(of: 4000, label: "DataStoreParityTests")
        #expect(divergence == nil, "\(divergence ?? "")")
    }

    /// Waits until `count` clients are blocked (INFO's blocked_clients), so that a
    /// write comes after the wait it should end however slowly the machine runs.
    /// A command that times out soon may be answered first: `unless` says it was.
    static func untilBlocked(_ count: Int, _ connection: DataStoreSafetyTests.Connection, unless answered: Flag? = nil) async throws {
        try await eventually(timeout: 30, every: 0.02, "\(count) blocked clients") {
            try answered?.isSet == true || connection.send(["INFO", "clients"]).contains("blocked_clients:\(count)\r\n")
        }
    }

    /// Set once, from any thread.
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }

    /// Blocking timeouts read as Redis 7.0 reads them (long double seconds, rounded up
    /// to a millisecond): which time out, which wait for ever, which are refused.
    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func blockingTimeoutsAreReadAsRedis7ReadsThem() async throws {
        let timeouts = ["-0.0001", "-0.001", "-0.0011", "0", "-0", "0.0000001", "1e-400", "0.0005", ".5", "0x1p-20",
                        "5.", "+1", "0x10", "1e3", "9223371036854775", "9223372036854775", "9223372036854775.807",
                        "9223372036854775.9", "inf", "-inf", "nan", "1e-5000", "1e5000", " 1", "1 ", ""]
        let pair = try await Pair.start()
        defer { pair.server.shutdown() }
        let ports = [try pair.server.port(service: "ds"), pair.redis.port]
        let outcomes = try await onThread { () throws -> [[String]] in
            let connections = try ports.map { port in try timeouts.map { _ in try DataStoreSafetyTests.Connection(port: port) } }
            for row in connections {
                for (connection, timeout) in zip(row, timeouts) {
                    try HTTPProbe.sendAll(connection.fd, Array("*3\r\n$5\r\nBLPOP\r\n$7\r\nnothing\r\n$\(timeout.utf8.count)\r\n\(timeout)\r\n".utf8))
                }
            }
            Thread.sleep(forTimeInterval: 1.5)   // Redis times clients out at its 10 Hz cron
            func read(_ connection: DataStoreSafetyTests.Connection) -> String {
                var chunk = [UInt8](repeating: 0, count: 256)
                let count = chunk.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                return count > 0 ? String(decoding: chunk[..<count], as: UTF8.self) : "(waits)"
            }
            var outcomes = connections.map { row in row.map(read) }
            // A loaded machine may deliver one store's 1 s timeout late: where only one has
            // answered, give the other up to 2 s more (the longest finite wait here is 5 s).
            let deadline = Date().addingTimeInterval(2)
            while Date() < deadline {
                let late = timeouts.indices.filter { (outcomes[0][$0] == "(waits)") != (outcomes[1][$0] == "(waits)") }
                if late.isEmpty { break }
                Thread.sleep(forTimeInterval: 0.1)
                for index in late {
                    for side in 0..<2 where outcomes[side][index] == "(waits)" { outcomes[side][index] = read(connections[side][index]) }
                }
            }
            return outcomes
        }
        let differing = zip(timeouts, zip(outcomes[0], outcomes[1])).filter { $1.0 != $1.1 }
            .map { "BLPOP nothing \($0.0.debugDescription): ours \($0.1.0.debugDescription), Redis \($0.1.1.debugDescription)" }
        #expect(differing.isEmpty, "\(differing.count) differ:\n\(differing.joined(separator: "\n"))")
        // Every kind of outcome is among the cases.
        #expect(outcomes[1].contains("(waits)") && outcomes[1].contains("*-1\r\n") && outcomes[1].contains("-ERR timeout is negative\r\n"))
    }

    /// BLMOVE, BLMPOP and BRPOPLPUSH wait, and are woken by whatever gives their key a
    /// list (RENAMENX, COPY, LMOVE, another BLMOVE's push) with the same replies from both stores.
    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func blockingMovesAreWokenAsInRedis() async throws {
        let transcripts = try await Pair.transcripts { port in
            let (blocked, chained, writer) = (try DataStoreSafetyTests.Connection(port: port), try DataStoreSafetyTests.Connection(port: port),
                                              try DataStoreSafetyTests.Connection(port: port))
            var transcript: [String] = []
            async let moved = onThread { try blocked.send(["BLMOVE", "src", "dst", "LEFT", "RIGHT", "5"]) }
            try await Self.untilBlocked(1, writer)
            transcript += try await onThread { [try writer.send(["RPUSH", "tmp", "a", "b"]), try writer.send(["RENAMENX", "tmp", "src"])] }
            transcript.append(try await moved)
            transcript += try await onThread { [try writer.send(["LRANGE", "src", "0", "-1"]), try writer.send(["LRANGE", "dst", "0", "-1"])] }

            async let many = onThread { try blocked.send(["BLMPOP", "5", "2", "q1", "q2", "RIGHT", "COUNT", "2"]) }
            try await Self.untilBlocked(1, writer)
            transcript += try await onThread { [try writer.send(["COPY", "dst", "q2"])] }
            transcript.append(try await many)

            // A BRPOPLPUSH whose push wakes a BLMOVE waiting on its destination.
            async let first = onThread { try blocked.send(["BRPOPLPUSH", "b1", "b2", "5"]) }
            async let second = onThread { try chained.send(["BLMOVE", "b2", "b3", "LEFT", "LEFT", "5"]) }
            try await Self.untilBlocked(2, writer)
            transcript += try await onThread { [try writer.send(["LMOVE", "src", "b1", "LEFT", "LEFT"])] }
            transcript += [try await first, try await second]
            transcript += try await onThread { [try writer.send(["LRANGE", "b3", "0", "-1"]), try writer.send(["EXISTS", "b1", "b2"])] }

            transcript.append(try await onThread { try blocked.send(["BLMOVE", "none", "dst", "LEFT", "LEFT", "0.1"]) })
            transcript.append(try await onThread { try blocked.send(["BLMPOP", "0.1", "1", "none", "LEFT"]) })
            return transcript
        }
        #expect(transcripts[0] == transcripts[1])
        #expect(transcripts[1].contains("$1\r\na\r\n"), "Redis itself moved the element: \(transcripts[1])")
    }

    /// XREAD, XREADGROUP, BZPOPMIN and BZMPOP wait, and are woken by another client's
    /// XADD or ZADD (after its EXEC, inside a transaction), failed when their group or
    /// stream goes, and time out, with the same replies from both stores.
    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func blockedStreamReadsAndSortedSetPopsAreWokenAsInRedis() async throws {
        let transcripts = try await Pair.transcripts { port in
            let (blocked, writer) = (try DataStoreSafetyTests.Connection(port: port), try DataStoreSafetyTests.Connection(port: port))
            var transcript: [String] = []
            /// Sends `command` on the blocked connection, the writes on the other, and records every reply.
            func woken(_ command: [String], by writes: [[String]]) async throws {
                let answered = Flag()
                async let reply = onThread { defer { answered.set() }; return try blocked.send(command) }
                try await Self.untilBlocked(1, writer, unless: answered)
                transcript += try await onThread { try writes.map { try writer.send($0) } }
                transcript.append(try await reply)
            }
            try await woken(["XREAD", "BLOCK", "5000", "STREAMS", "s", "$"], by: [["XADD", "s", "1-1", "f", "v"]])
            try await woken(["BZPOPMIN", "z", "5"], by: [["ZADD", "z", "1", "a", "2", "b"]])
            try await woken(["BZMPOP", "5", "2", "z1", "z2", "MAX", "COUNT", "2"], by: [["RPUSH", "z2", "list"], ["DEL", "z2"], ["ZADD", "z2", "1", "a", "3", "c"]])
            try await woken(["XREAD", "BLOCK", "5000", "STREAMS", "s", "$"],
                            by: [["MULTI"], ["XADD", "s", "2-1", "a", "b"], ["XADD", "s", "3-1", "c", "d"], ["EXEC"]])
            transcript.append(try await onThread { try writer.send(["XGROUP", "CREATE", "s", "g", "$"]) })
            try await woken(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", "s", ">"], by: [["XADD", "s", "4-1", "e", "f"]])
            transcript.append(try await onThread { try writer.send(["XPENDING", "s", "g"]) })
            try await woken(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", "s", ">"], by: [["XGROUP", "DESTROY", "s", "g"]])
            transcript.append(try await onThread { try writer.send(["XGROUP", "CREATE", "s", "g", "$"]) })
            try await woken(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", "s", ">"], by: [["DEL", "s"]])
            transcript.append(try await onThread { try writer.send(["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]) })
            try await woken(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", "s", ">"], by: [["FLUSHALL"]])
            transcript.append(try await onThread { try writer.send(["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]) })
            try await woken(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", "s", ">"], by: [["RENAME", "s", "t"]])
            try await woken(["XREAD", "BLOCK", "5000", "STREAMS", "u", "$"], by: [["XADD", "t", "9-1", "a", "b"], ["COPY", "t", "u"]])
            try await woken(["XREAD", "BLOCK", "300", "STREAMS", "t", "$"], by: [["XSETID", "t", "99-0"], ["XTRIM", "t", "MAXLEN", "0"]])
            try await woken(["XREAD", "BLOCK", "100", "STREAMS", "s", "$"], by: [])
            try await woken(["BZPOPMAX", "none", "0.1"], by: [])
            return transcript
        }
        #expect(transcripts[0] == transcripts[1])
        #expect(transcripts[1].first == "$3\r\n1-1\r\n" && transcripts[1].contains { $0.hasPrefix("-UNBLOCKED") }, "\(transcripts[1])")
    }

    static func show(_ reply: [UInt8]) -> String { String(decoding: reply.prefix(200), as: UTF8.self).debugDescription }
}

/// A seeded stream of commands over keys k0...k7: the new commands mixed with the
/// basic ones, small values so that keys collide, change type and empty out.
struct RandomCommands {
    /// SplitMix64: the same sequence for the same seed on every platform.
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func random() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(random() % UInt64(items.count))] }
    mutating func key() -> String { "k\(random() % 8)" }
    mutating func value() -> String { pick(["a", "b", "c", "1", "2", "-3", "10", ""]) }
    mutating func index() -> String { pick(["0", "1", "2", "-1", "-2", "3", "5", "-100", "100", "9223372036854775807", "-9223372036854775808"]) }
    mutating func side() -> String { pick(["LEFT", "RIGHT"]) }
    mutating func score() -> String { pick(["0", "1", "2", "1.5", "-1", "inf", "-inf", "3"]) }

    mutating func next() -> [String] {
        let (k, l) = (key(), key())
        let choice = random() % 84
        if choice >= 64 { return nextStreamCommand(choice - 64, k, l) }
        switch choice {
        case 0: return ["SET", k, value()]
        case 1: return ["GET", k]
        case 2: return ["DEL", k, l]
        case 3: return ["INCR", k]
        case 4: return ["APPEND", k, value()]
        case 5: return ["LPUSH", k, value(), value()]
        case 6: return ["RPUSH", k, value()]
        case 7: return [pick(["LPOP", "RPOP"]), k] + (random() % 2 == 0 ? [pick(["0", "1", "3"])] : [])
        case 8: return ["LRANGE", k, index(), index()]
        case 9: return ["SADD", k, value(), value()]
        case 10: return ["SREM", k, value()]
        case 11: return [pick(["SMEMBERS", "SCARD"]), k]
        case 12: return ["SINTER", k, l]
        case 13: return ["HSET", k, pick(["f", "g", "h"]), value()]
        case 14: return [pick(["HGETALL", "HLEN"]), k]
        case 15: return ["ZADD", k, score(), value()]
        case 16: return ["ZRANGE", k, index(), index(), "WITHSCORES"]
        case 17: return ["ZINCRBY", k, score(), value()]
        case 18: return ["TYPE", k]
        case 19: return ["EXPIREAT", k, "4000000000"]
        case 20: return [pick(["PERSIST", "TTL", "EXPIRETIME", "PEXPIRETIME", "EXISTS", "TOUCH"]), k]
        case 21: return ["GETEX", k] + pick([[], ["PERSIST"], ["EXAT", "4100000000"], ["PXAT", "1"], ["EX", "0"]])
        case 22: return ["GETDEL", k]
        case 23: return ["MSETNX", k, value(), l, value()]
        case 24: return ["SETRANGE", k, pick(["0", "1", "3", "8"]), value()]
        case 25: return [pick(["GETRANGE", "SUBSTR"]), k, index(), index()]
        case 26: return ["SETBIT", k, String(random() % 40), pick(["0", "1"])]
        case 27: return ["GETBIT", k, String(random() % 40)]
        case 28: return ["BITCOUNT", k] + pick([[], [index(), index()], [index(), index(), pick(["BIT", "BYTE"])]])
        case 29: return [pick(["RENAME", "RENAMENX"]), k, l]
        case 30: return ["COPY", k, l] + pick([[], ["REPLACE"], ["DB", "0", "REPLACE"]])
        case 31: return ["UNLINK", k, l]
        case 32: return ["LINSERT", k, pick(["BEFORE", "AFTER"]), value(), value()]
        case 33: return ["LPOS", k, value()] + pick([[], ["RANK", pick(["1", "-1", "2", "-2"])], ["COUNT", pick(["0", "1", "2"])],
                                                    ["RANK", "-1", "COUNT", "0", "MAXLEN", "3"]])
        case 34: return [pick(["LPUSHX", "RPUSHX"]), k, value()]
        case 35: return ["LMOVE", k, l, side(), side()]
        case 36: return ["RPOPLPUSH", k, l]
        case 37: return ["LMPOP", "2", k, l, side()] + pick([[], ["COUNT", pick(["1", "2", "5"])]])
        case 38: return pick([["BLMOVE", k, l, side(), side(), "0.01"], ["BRPOPLPUSH", k, l, "0.01"], ["BLMPOP", "0.01", "1", k, side()]])
        case 39: return ["SMOVE", k, l, value()]
        case 40: return ["SMISMEMBER", k, value(), value()]
        case 41: return ["SINTERCARD", "2", k, l] + pick([[], ["LIMIT", pick(["0", "1", "2"])]])
        case 42: return ["HRANDFIELD", k] + pick([[], [pick(["1", "2", "-3", "0"])], [pick(["1", "5", "-2"]), "WITHVALUES"]])
        case 43: return ["ZRANDMEMBER", k] + pick([[], [pick(["1", "2", "-3", "0"])], [pick(["1", "5", "-2"]), "WITHSCORES"]])
        case 44: return ["SRANDMEMBER", k] + pick([[], [pick(["1", "-2", "5"])]])
        case 45: return [pick(["ZPOPMIN", "ZPOPMAX"]), k] + pick([[], [pick(["0", "1", "2", "9"])]])
        case 46: return ["ZMSCORE", k, value(), value()]
        case 47: return ["ZREMRANGEBYRANK", k, index(), index()]
        case 48: return ["ZREMRANGEBYSCORE", k, pick(["-inf", "(0", "1"]), pick(["+inf", "2", "(1.5"])]
        case 49: return ["ZRANGESTORE", k, l, index(), index()]
        case 50: return [pick(["ZUNION", "ZINTER", "ZDIFF"]), "2", k, l] + pick([[], ["WITHSCORES"]])
        case 51: return [pick(["ZUNIONSTORE", "ZINTERSTORE"]), k, "2", k, l] + pick([[], ["WEIGHTS", "2", "-1"], ["AGGREGATE", pick(["MIN", "MAX"])]])
        case 52: return ["ZDIFFSTORE", k, "2", l, key()]
        case 53: return ["ZINTERCARD", "2", k, l] + pick([[], ["LIMIT", "1"]])
        case 54: return [pick(["ZRANGEBYLEX", "ZREMRANGEBYLEX", "ZLEXCOUNT"]), k, "-", "+"]
        case 55: return ["ZREVRANGEBYSCORE", k, "+inf", "-inf", "WITHSCORES"]
        case 56: return ["MSET", k, value(), l, value()]
        case 57: return ["LINDEX", k, index()]
        case 58: return ["LREM", k, pick(["0", "1", "-1"]), value()]
        case 59: return ["SUNIONSTORE", k, l, key()]
        case 60: return ["HINCRBY", k, pick(["f", "g"]), index()]
        case 61: return ["ZSCORE", k, value()]
        case 62: return ["STRLEN", k]
        default: return ["LLEN", k]
        }
    }
}

/// Streams and the sorted-set pops in the random sequences: explicit IDs only (`*`
/// would answer with the clock), mostly rising so that appends succeed, over two
/// groups and three consumers.
extension RandomCommands {
    mutating func streamID() -> String {
        let ms = String(random() % 12)
        return pick(["\(ms)-\(random() % 3)", "\(ms)-*", ms, "\(ms)-0"])
    }

    mutating func rangeBound() -> String { pick(["-", "+", "0", "3", "5-1", "(2-0", "(5", "9"]) }
    mutating func group() -> String { pick(["g1", "g2"]) }
    mutating func consumer() -> String { pick(["c1", "c2", "c3"]) }

    mutating func nextStreamCommand(_ choice: UInt64, _ k: String, _ l: String) -> [String] {
        switch choice {
        case 0, 1, 2:
            let options = pick([[], ["NOMKSTREAM"], ["MAXLEN", pick(["~", "=", "2"]), "3"], ["MINID", "4"], ["MAXLEN", "~", "0", "LIMIT", "1"]])
            return ["XADD", k] + options + [streamID(), pick(["f", "g"]), value()] + (random() % 3 == 0 ? ["h", value()] : [])
        case 3: return [pick(["XLEN", "TYPE"]), k]
        case 4: return ["XRANGE", k, rangeBound(), rangeBound()] + pick([[], ["COUNT", pick(["0", "1", "2", "-1"])]])
        case 5: return ["XREVRANGE", k, rangeBound(), rangeBound()] + pick([[], ["COUNT", pick(["1", "3"])]])
        case 6: return ["XDEL", k, streamID(), streamID()]
        case 7: return ["XTRIM", k, pick(["MAXLEN", "MINID"]), pick(["~", "="]), pick(["0", "1", "3", "5-0"])]
        case 8: return ["XREAD", "COUNT", pick(["1", "2", "0"]), "STREAMS", k, l, pick(["0", "$", "3-0"]), pick(["0", "$"])]
        case 9: return ["XGROUP", "CREATE", k, group(), pick(["0", "$", "3"])] + pick([[], ["MKSTREAM"], ["ENTRIESREAD", pick(["0", "2", "-1"])]])
        case 10: return ["XGROUP", pick(["DESTROY", "CREATECONSUMER", "DELCONSUMER", "SETID"]), k, group()]
            + pick([[consumer()], [pick(["0", "$", "4-0"])]])
        case 11, 12: return ["XREADGROUP", "GROUP", group(), consumer()] + pick([[], ["COUNT", "1"], ["NOACK"]])
            + ["STREAMS", k, pick([">", ">", "0", "2-0"])]
        case 13: return ["XACK", k, group(), streamID(), streamID()]
        case 14: return ["XPENDING", k, group()] + pick([[], ["-", "+", "10"], ["-", "+", "5", consumer()], ["IDLE", "0", "(1", "+", "3"]])
        case 15: return ["XCLAIM", k, group(), consumer(), "0", streamID(), streamID()] + pick([[], ["JUSTID"], ["FORCE"], ["RETRYCOUNT", "5"]])
        case 16: return ["XAUTOCLAIM", k, group(), consumer(), "0", pick(["0", "3", "(1-0"])] + pick([[], ["COUNT", "1"], ["JUSTID"]])
        case 17: return ["XINFO", pick(["GROUPS", "STREAM", "CONSUMERS"]), k] + pick([[group()], []])
        case 18: return ["ZMPOP", "2", k, l, pick(["MIN", "MAX"])] + pick([[], ["COUNT", pick(["1", "3"])]])
        default: return pick([[pick(["BZPOPMIN", "BZPOPMAX"]), k, l, "0.01"], ["BZMPOP", "0.01", "1", k, pick(["MIN", "MAX"]), "COUNT", "2"],
                              ["XREAD", "BLOCK", "5", "STREAMS", k, "$"], ["XSETID", k, pick(["5-0", "20-0"])]])
        }
    }
}
