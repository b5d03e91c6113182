import Foundation
import Glibc
import Testing

/// Numbers from a client at the edges of 64 bits, where the store used to trap and
/// lose every key: each command is sent to the embedded store and to redis-server,
/// and the replies must be the same, byte for byte, with the store still alive.
@Suite(.blockingAllowed) struct DataStoreSafetyTests {
    /// A raw RESP connection: commands out, replies in as their raw bytes.
    /// Used from one thread at a time, handed between them in turn.
    final class Connection: @unchecked Sendable {
        let fd: Int32
        init(port: Int) throws { fd = try HTTPProbe.connect(port: port, timeout: 30) }   // only a failing case waits it out
        deinit { close(fd) }

        func send(_ words: [String]) throws -> String {
            try send(raw: "*\(words.count)\r\n" + words.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined())
        }

        /// Sends bytes as they are (an inline request) and reads one reply.
        func send(raw request: String) throws -> String {
            String(decoding: try reply(to: Array(request.utf8)), as: UTF8.self)
        }

        /// One command's reply as its bytes, which may be any bytes (SETBIT's are).
        func reply(to words: [String]) throws -> [UInt8] {
            try reply(to: Array(("*\(words.count)\r\n" + words.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()).utf8))
        }

        private func reply(to request: [UInt8]) throws -> [UInt8] {
            try HTTPProbe.sendAll(fd, request)
            var reply: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while Self.end(of: reply, from: 0) == nil {
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { return reply + Array((count == 0 ? "<closed>" : "<timeout>").utf8) }
                reply += chunk[..<count]
            }
            return reply
        }

        /// Where the RESP value starting at `start` ends, or nil while it is incomplete.
        static func end(of bytes: [UInt8], from start: Int) -> Int? {
            guard start < bytes.count, let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            let header = String(decoding: bytes[(start + 1)..<max(start + 1, newline - 1)], as: UTF8.self)
            switch bytes[start] {
            case UInt8(ascii: "$"), UInt8(ascii: "="):   // bulk and RESP3's verbatim string
                guard let length = Int(header), length >= 0 else { return newline + 1 }
                return bytes.count >= newline + 1 + length + 2 ? newline + 1 + length + 2 : nil
            case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):   // array; RESP3's set, push and map
                guard let elements = Int(header), elements > 0 else { return newline + 1 }
                let count = bytes[start] == UInt8(ascii: "%") ? 2 * elements : elements
                var position = newline + 1
                for _ in 0..<count {
                    guard let next = end(of: bytes, from: position) else { return nil }
                    position = next
                }
                return position
            default:
                return newline + 1
            }
        }
    }

    static let edges: [[String]] = [
        ["SET", "k", "v", "EX", "10000000000000000"],
        ["SET", "k", "v", "PX", "9223372036854775807"],
        ["SET", "k", "v", "EXAT", "9223372036854775807"],
        ["SET", "k", "v", "EX", "0"],
        ["SET", "k", "v", "PX", "-5"],
        ["SETEX", "k", "9223372036854775807", "v"],
        ["PSETEX", "k", "9223372036854775807", "v"],
        ["SETEX", "k", "0", "v"],
        ["SET", "k", "v"],
        ["EXPIRE", "k", "9223370399119966"],
        ["EXPIRE", "k", "-9223372036854775808"],
        ["PEXPIRE", "k", "9223372036854770000"],
        ["EXPIREAT", "k", "9223372036854775807"],
        ["PEXPIREAT", "k", "-9223372036854775808"],
        ["EXPIRE", "k", "99999999999999999999"],
        ["SET", "k2", "v", "PXAT", "9223372036854775807"],
        ["TTL", "k2"],
        ["SADD", "s", "a", "b"],
        ["SRANDMEMBER", "s", "-9223372036854775808"],
        ["SPOP", "s", "-1"],
        ["RPUSH", "l", "x", "y", "x"],
        ["LREM", "l", "-9223372036854775808", "x"],
        ["LRANGE", "l", "-9223372036854775808", "9223372036854775807"],
        ["LINDEX", "l", "-9223372036854775808"],
        ["BLPOP", "missing", "9223372036854775807"],
        ["BLPOP", "missing", "inf"],
        ["BLPOP", "missing", "-1"],
        ["INCRBY", "n", "9223372036854775807"],
        ["INCRBY", "n", "1"],
        ["DECRBY", "m", "-9223372036854775808"],
        ["HINCRBY", "h", "f", "9223372036854775807"],
        ["HINCRBY", "h", "f", "1"],
        ["PING"],
    ]

    /// Replies compared exactly, except seconds left (TTL): the two stores compute
    /// them a moment apart, and a second's boundary may fall between.
    static func expectSameReply(_ command: [String], _ mine: String, _ reference: String) {
        // ":n\r\n": the digits only ("\r\n" is one Character, so stopping at "\r" never stops).
        if command[0] == "TTL", let a = Int(mine.dropFirst().prefix(while: \.isNumber)),
           let b = Int(reference.dropFirst().prefix(while: \.isNumber)), a >= 0, b >= 0 {
            #expect(abs(a - b) <= 1, "\(command.joined(separator: " ")): \(mine) against \(reference)")
        } else {
            #expect(mine == reference, "\(command.joined(separator: " "))")
        }
    }

    @Test func ttlRepliesASecondApartCountAsTheSame() {
        Self.expectSameReply(["TTL", "e"], ":8203869057\r\n", ":8203869056\r\n")
        withKnownIssue("two seconds apart is a difference") {
            Self.expectSameReply(["TTL", "e"], ":8203869058\r\n", ":8203869056\r\n")
        }
        withKnownIssue("only TTL replies may differ") {
            Self.expectSameReply(["PTTL", "e"], ":1001\r\n", ":1000\r\n")
        }
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func edgeNumbersGetRedisRepliesAndTheStoreLivesOn() async throws {
        let redis = try await RedisServer.start()
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1, service: "ds")
        let storePID = try #require(try server.workerPIDs(service: "ds").first)
        let ours = try Connection(port: try server.port(service: "ds"))
        let theirs = try Connection(port: redis.port)
        for command in Self.edges {
            let (mine, reference) = try await onThread { (try ours.send(command), try theirs.send(command)) }
            Self.expectSameReply(command, mine, reference)
        }
        // Cursors are positions of each store's own: only that it answers.
        let scan = try await onThread { try ours.send(["SCAN", "9223372036854775807", "COUNT", "10"]) }
        #expect(scan.hasPrefix("*2\r\n"))
        #expect(try server.workerPIDs(service: "ds") == [storePID], "the store was restarted: it crashed")
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func beforeAuthOnlySmallRequestsAreRead() async throws {
        let redis = try await RedisServer.start(["--requirepass", "secret"])
        let server = try PulseServer(arguments: ["-w", "1", "--ds-password", "secret"])
        defer { server.shutdown() }
        try await server.waitForReady(1, service: "ds")
        let cases: [[String]] = [Array(repeating: "x", count: 11), ["SET", "k", String(repeating: "v", count: 16385)]]
        for command in cases {
            let ours = try Connection(port: try server.port(service: "ds"))
            let theirs = try Connection(port: redis.port)
            let (mine, reference) = try await onThread { (try ours.send(command), try theirs.send(command)) }
            #expect(mine.hasPrefix("-ERR Protocol error: unauthenticated"), "\(mine.prefix(80))")
            #expect(mine.prefix(60) == reference.prefix(60))
        }
        let allowed = try Connection(port: try server.port(service: "ds"))
        #expect(try await onThread { try allowed.send(["AUTH", "secret"]) } == "+OK\r\n")
        #expect(try await onThread { try allowed.send(["SET", "k", String(repeating: "v", count: 20000)]) } == "+OK\r\n")
    }

    static let parity: [[String]] = [
        ["SET", "e", "v"], ["EXPIRE", "e", "100", "NX"], ["EXPIRE", "e", "200", "NX"], ["EXPIRE", "e", "50", "GT"],
        ["EXPIRE", "e", "500", "gt"], ["EXPIRE", "e", "10", "LT"], ["EXPIRE", "e", "20", "XX"], ["TTL", "e"], ["PERSIST", "e"],
        ["EXPIRE", "e", "10", "XX"], ["PEXPIRE", "e", "10000", "GT"], ["EXPIREAT", "e", "9999999999", "LT"], ["TTL", "e"],
        ["EXPIRE", "e", "10", "NX", "XX"], ["EXPIRE", "e", "10", "GT", "LT"], ["EXPIRE", "e", "10", "FOO"],
        ["EXPIRE", "missing", "10", "NX"],
        ["PING", "x", "y", "z"], ["PING", "hello"], ["RPUSH", "l", "a"], ["LPOP", "l", "1", "1"], ["RPOP", "l", "1", "1"],
    ]

    /// Floats as Redis 7.0 reads and writes them: INCRBYFLOAT in long double with its
    /// digits spelled out, scores as "%.17g", strtod's edges refused; and sorted-set
    /// ranges by lex and with LIMIT.
    static let numbers: [[String]] = [
        ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "0.2"], ["INCRBYFLOAT", "f", "1e20"], ["INCRBYFLOAT", "f", "-1e20"],
        ["INCRBYFLOAT", "f", "1.5e-7"], ["INCRBYFLOAT", "f", " 1"], ["INCRBYFLOAT", "f", "1 "], ["INCRBYFLOAT", "f", ""],
        ["INCRBYFLOAT", "f", "nan"], ["INCRBYFLOAT", "f", "inf"], ["INCRBYFLOAT", "f", "0x10"], ["INCRBYFLOAT", "f", "1e400"],
        ["INCRBYFLOAT", "f", "1e-320"], ["INCRBYFLOAT", "f", String(repeating: "9", count: 6000)],
        ["SET", "g", "1e4000"], ["INCRBYFLOAT", "g", "1"], ["SET", "g", "abc"], ["INCRBYFLOAT", "g", "1"],
        ["SET", "g", "-0.0"], ["INCRBYFLOAT", "g", "-0"], ["INCRBYFLOAT", "h", "123456789012345678"],
        ["INCRBYFLOAT", "h", "1e-17"], ["INCRBYFLOAT", "h", "-123456789012345678"],
        ["HINCRBYFLOAT", "hh", "f", "inf"], ["HINCRBYFLOAT", "hh", "f", "1e400"], ["HINCRBYFLOAT", "hh", "f", "0.1"],
        ["HSET", "hh", "g", "abc"], ["HINCRBYFLOAT", "hh", "g", "1"], ["HINCRBYFLOAT", "hh", "g", "x"],
        ["ZADD", "z", "1e20", "a", "0.1", "b", "1.5e-7", "c", "inf", "d", "3.0", "e", "0x1p3", "f"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZADD", "z", "1e400", "x"], ["ZADD", "z", "1e-400", "x"],
        ["ZADD", "z", " 1", "x"], ["ZADD", "z", "1e-320", "x"], ["ZINCRBY", "z", "0.2", "b"], ["ZSCORE", "z", "x"],
        ["ZADD", "z", "INCR", "-inf", "d"], ["ZINCRBY", "z", "-inf", "d"], ["ZINCRBY", "z", "-0", "n"], ["ZSCORE", "z", "n"],
        ["ZRANGEBYSCORE", "z", "(0.1", "+inf", "WITHSCORES", "LIMIT", "1", "2"], ["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2"],
        ["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "-5"], ["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1"],
        ["ZRANGEBYSCORE", "z", "-inf", "+inf", "REV"], ["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "2", "WITHSCORES"],
        ["ZRANGE", "z", "(0", "(10", "BYSCORE", "REV"], ["ZRANGE", "z", "(10", "(0", "BYSCORE", "REV", "LIMIT", "0", "1"],
        ["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"], ["ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX"], ["ZREVRANGE", "z", "0", "1", "REV"],
        ["ZADD", "lx", "0", "a", "0", "b", "0", "c", "0", "d", "0", ""], ["ZRANGEBYLEX", "lx", "-", "+"],
        ["ZRANGEBYLEX", "lx", "[b", "(d"], ["ZRANGEBYLEX", "lx", "(b", "[d", "LIMIT", "1", "5"], ["ZRANGEBYLEX", "lx", "+", "-"],
        ["ZREVRANGEBYLEX", "lx", "[d", "(a", "LIMIT", "0", "2"], ["ZRANGEBYLEX", "lx", "b", "d"], ["ZRANGEBYLEX", "lx", "(", "["],
        ["ZRANGEBYLEX", "lx", "-", "+", "WITHSCORES"], ["ZLEXCOUNT", "lx", "[c", "+"], ["ZLEXCOUNT", "lx", "x", "y"],
        ["ZRANGE", "lx", "[d", "[b", "BYLEX", "REV"], ["ZRANGE", "lx", "-", "+", "BYLEX", "WITHSCORES"],
        ["ZRANGEBYLEX", "lx", "-", "+", "LIMIT", "9223372036854775807", "9223372036854775807"],
    ]

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func numbersAndRangesAnswerAsRedis7Does() async throws {
        let redis = try await RedisServer.start()
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1, service: "ds")
        let (ours, theirs) = (try Connection(port: try server.port(service: "ds")), try Connection(port: redis.port))
        for command in Self.numbers {
            let (mine, reference) = try await onThread { (try ours.send(command), try theirs.send(command)) }
            #expect(mine == reference, "\(command.joined(separator: " ").prefix(80))")
        }
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func commandsAnswerAsRedis7Does() async throws {
        let redis = try await RedisServer.start()
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1, service: "ds")
        let ports = [try server.port(service: "ds"), redis.port]
        let (ours, theirs) = (try Connection(port: ports[0]), try Connection(port: ports[1]))
        for command in Self.parity {
            let (mine, reference) = try await onThread { (try ours.send(command), try theirs.send(command)) }
            Self.expectSameReply(command, mine, reference)
        }
        // Subscribed clients: PING answers as a push; NUMPAT counts distinct patterns.
        for port in ports {
            let (first, second, asker) = (try Connection(port: port), try Connection(port: port), try Connection(port: port))
            let replies = try await onThread {
                _ = try first.send(["PSUBSCRIBE", "a*", "b*"])
                _ = try second.send(["PSUBSCRIBE", "a*"])
                return [try first.send(["PING"]), try second.send(["PING", "hi"]), try asker.send(["PUBSUB", "NUMPAT"])]
            }
            #expect(replies == ["*2\r\n$4\r\npong\r\n$0\r\n\r\n", "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n", ":2\r\n"], "port \(port)")
        }
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func inlineRequestsHonourQuotesAsRedisDoes() async throws {
        let redis = try await RedisServer.start()
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1, service: "ds")
        let lines = [
            "SET \"a b\" 'c d'\r\n", "GET \"a b\"\r\n", "SET k \"x\\x41\\n\\\"\"\r\n", "GET k\r\n", "ECHO 'it\\'s'\r\n",
            "SET q ab\"cd ef\"\r\n", "GET q\r\n", "ECHO \"\"\r\n", "  PING   \n", "ECHO \"closed\"x\r\n",
        ]
        let (ours, theirs) = (try Connection(port: try server.port(service: "ds")), try Connection(port: redis.port))
        for line in lines {
            let (mine, reference) = try await onThread { (try ours.send(raw: line), try theirs.send(raw: line)) }
            #expect(mine == reference, "\(line.debugDescription)")
        }
        let unbalanced = try Connection(port: try server.port(service: "ds"))
        #expect(try await onThread { try unbalanced.send(raw: "ECHO \"open\r\n") }.hasPrefix("-ERR Protocol error: unbalanced quotes in request"))
    }

    /// Transactions and WATCH as Redis 7 has them, each step on the same pair of
    /// connections to both stores, replies compared.
    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func transactionsAnswerAsRedis7Does() async throws {
        let redis = try await RedisServer.start()
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1, service: "ds")
        let ports = [try server.port(service: "ds"), redis.port]
        let mains = try ports.map { try Connection(port: $0) }
        let others = try ports.map { try Connection(port: $0) }
        // (connection: 0 main, 1 other; command; wait ms before it)
        // Each step goes to the store, then to Redis: the watched key lives 2 s, so a
        // stalled machine cannot make one of them watch it alive and the other expired.
        let steps: [(Int, [String], Int)] = [
            (0, ["MULTI"], 0), (0, ["NOSUCHCOMMAND", "x"], 0), (0, ["SET", "a", "1"], 0), (0, ["EXEC"], 0),
            (0, ["MULTI"], 0), (0, ["SAVE"], 0), (0, ["EXEC"], 0),
            (0, ["SET", "w", "v", "PX", "2000"], 0), (0, ["WATCH", "w"], 0), (0, ["MULTI"], 0), (0, ["SET", "x", "1"], 2500),
            (0, ["EXEC"], 0),
            (0, ["WATCH", "missing"], 0), (1, ["FLUSHALL"], 0), (0, ["MULTI"], 0), (0, ["SET", "y", "1"], 0), (0, ["EXEC"], 0),
            (0, ["SET", "present", "1"], 0), (0, ["WATCH", "present"], 0), (1, ["FLUSHDB"], 0), (0, ["MULTI"], 0),
            (0, ["SET", "z", "1"], 0), (0, ["EXEC"], 0),
        ]
        for (who, command, wait) in steps {
            if wait > 0 { try await Task.sleep(for: .milliseconds(wait)) }
            let pair = who == 0 ? mains : others
            let (mine, reference) = try await onThread { (try pair[0].send(command), try pair[1].send(command)) }
            #expect(mine == reference, "\(command.joined(separator: " "))")
        }
    }

    /// A client blocked in BLPOP is served after the command, or the whole
    /// transaction, that filled its key, with the state it left; any command that
    /// creates the list wakes it. Same replies from both stores.
    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func blockedClientsAreServedAfterWhatFilledTheirKey() async throws {
        let redis = try await RedisServer.start()
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1, service: "ds")
        for port in [try server.port(service: "ds"), redis.port] {
            let (blocked, writer) = (try Connection(port: port), try Connection(port: port))
            async let served = onThread { try blocked.send(["BLPOP", "q", "5"]) }
            try await Task.sleep(for: .milliseconds(200))
            let transaction = try await onThread {
                [try writer.send(["MULTI"]), try writer.send(["RPUSH", "q", "a"]), try writer.send(["DEL", "q"]),
                 try writer.send(["EXEC"]), try writer.send(["RPUSH", "q", "b"])]
            }
            #expect(transaction.last == ":1\r\n", "port \(port)")
            #expect(try await served == "*2\r\n$1\r\nq\r\n$1\r\nb\r\n", "port \(port): served what the transaction left")

            async let renamed = onThread { try blocked.send(["BLPOP", "r", "5"]) }
            try await Task.sleep(for: .milliseconds(200))
            _ = try await onThread { [try writer.send(["RPUSH", "tmp", "x"]), try writer.send(["RENAME", "tmp", "r"])] }
            #expect(try await renamed == "*2\r\n$1\r\nr\r\n$1\r\nx\r\n", "port \(port): woken by RENAME")
        }
    }
}
