import Foundation
import Glibc
import TestSupport
import Testing

/// Keyspace notifications (notify-keyspace-events): the same commands against the
/// embedded store and redis-server, and every event each publishes, in order.
@Suite(.blockingAllowed) struct DataStoreNotificationTests {
    typealias Connection = DataStoreSafetyTests.Connection

    /// Commands without time in them (no expiry that could fall due during the run).
    static let commands: [String] = [
        "SET s v", "SET s w NX", "SET s w XX GET", "SETNX s x", "SETNX n 1", "GETSET n 2", "MSET a 1 b 2", "MSETNX a 1 c 3",
        "MSETNX c 3 d 4", "INCR n", "DECRBY n 5", "INCRBYFLOAT n 1.5", "APPEND s !", "SETRANGE s 1 xy", "SETRANGE s 0 ''",
        "SETBIT bits 7 1", "GETDEL a", "GETDEL missing", "DEL a b c missing", "UNLINK d", "GET missing", "MGET s missing",
        "SET e v", "EXPIRE e 100", "PEXPIRE e 200000 GT", "PEXPIRE e 100 GT", "EXPIRE e 50 NX", "PERSIST e", "PERSIST e", "EXPIRE e -1", "EXISTS e",
        "SET e v EX 100", "GETEX e PERSIST", "GETEX e EX 100", "SETEX sx 100 v", "PSETEX px 100000 v", "RENAME sx sy",
        "RENAMENX sy px", "RENAMENX sy sz", "COPY sz c1", "COPY sz c2 DB 1", "COPY sz c1 REPLACE",
        "RPUSH l a b c d", "LPUSH l z", "LPUSHX l y", "RPUSHX missing x", "LINSERT l BEFORE b q", "LSET l 0 Z", "LREM l 1 q",
        "LREM l 1 nothing", "LTRIM l 0 3", "LPOP l", "RPOP l 2", "LPOP l 5", "LPOP l", "RPUSH src 1 2", "LMOVE src dst LEFT RIGHT",
        "RPOPLPUSH src dst", "LMOVE dst dst LEFT LEFT", "LMPOP 2 none dst RIGHT COUNT 5", "BLPOP none dst 0.01", "RPUSH b1 x",
        "BLMOVE b1 b2 RIGHT LEFT 0.01", "BRPOP b2 0.01",
        "HSET h f 1 g 2", "HSET h f 1", "HSETNX h f 3", "HSETNX h k 3", "HMSET h x 1", "HINCRBY h f 2", "HINCRBYFLOAT h f 0.5",
        "HDEL h nothing", "HDEL h f g", "HDEL h k x", "HGET h f",
        "SADD st a b c", "SADD st a", "SREM st nothing", "SREM st a", "SMOVE st st2 b", "SMOVE st st2 c", "SMOVE st st2 c",
        "SADD s1 1 2 3", "SADD s2 2 3 4", "SINTERSTORE s3 s1 s2", "SUNIONSTORE s3 s1 s2", "SDIFFSTORE s3 s1 s1", "SDIFFSTORE s3 s1 s1",
        "SPOP s1", "SPOP s2 5",
        "ZADD z 1 a 2 b", "ZADD z 1 a", "ZADD z NX 5 a", "ZADD z XX INCR 2 a", "ZADD z NX INCR 2 a", "ZINCRBY z 1 c", "ZREM z none",
        "ZREM z c", "ZADD z 3 c 4 d 5 e", "ZREMRANGEBYRANK z 0 0", "ZREMRANGEBYSCORE z 4 4", "ZREMRANGEBYLEX z - +",
        "ZADD z 1 a 2 b 3 c", "ZPOPMIN z", "ZPOPMAX z 5", "ZPOPMIN z", "ZADD z1 1 a 2 b", "ZADD z2 2 b 3 c", "ZUNIONSTORE zu 2 z1 z2",
        "ZINTERSTORE zu 2 z1 z2", "ZDIFFSTORE zu 2 z1 z1", "ZDIFFSTORE zu 2 z1 z1", "ZRANGESTORE zr z1 0 -1", "ZRANGESTORE zr z1 5 6",
        "SET mv 1", "MOVE mv 1", "MOVE mv 1",
        "XADD xs 1-1 f v", "XADD xs 2-1 f v", "XADD xs MAXLEN 1 3-1 f v", "XADD xs 1-1 f v", "XADD none NOMKSTREAM * f v",
        "XDEL xs 1-1", "XDEL xs 3-1", "XTRIM xs MAXLEN 5", "XADD xs 4-1 f v", "XTRIM xs MAXLEN 0", "XSETID xs 9-9",
        "XGROUP CREATE xs g 0", "XGROUP CREATE xs g 0", "XGROUP CREATE xm g $ MKSTREAM", "XGROUP SETID xs g 0",
        "XGROUP CREATECONSUMER xs g c1", "XGROUP CREATECONSUMER xs g c1", "XADD xs 10-1 f v", "XREADGROUP GROUP g c2 STREAMS xs >",
        "XREADGROUP GROUP g c2 STREAMS xs >", "XCLAIM xs g c3 0 10-1", "XAUTOCLAIM xs g c4 0 0", "XGROUP DELCONSUMER xs g c1",
        "XGROUP DELCONSUMER xs g nobody", "XGROUP DESTROY xs g", "XGROUP DESTROY xs g", "XREAD STREAMS nostream 0",
        "FLUSHDB", "SET last v",
    ]

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func everyEventIsPublishedAsRedisPublishesIt() async throws {
        let pair = try await DataStoreParityTests.Pair.start()
        defer { pair.server.shutdown() }
        var transcripts: [[String]] = []
        for (port, writer) in [(try pair.server.port(service: "ds"), pair.ours), (pair.redis.port, pair.theirs)] {
            let listener = try Connection(port: port)
            let events = try await onThread { () throws -> [String] in
                // Key misses (m) and new keys (n) too: all classes, both channels.
                #expect(try writer.send(["CONFIG", "SET", "notify-keyspace-events", "KEAmn"]) == "+OK\r\n")
                _ = try listener.send(["PSUBSCRIBE", "__key*@0__:*", "__key*@1__:*", "end"])
                for line in Self.commands { _ = try writer.send(DataStoreAdminTests.words(line)) }
                _ = try writer.send(["PUBLISH", "end", "end"])
                return try Self.messages(on: listener, until: "end")
            }
            transcripts.append(events)
        }
        let (ours, theirs) = (transcripts[0], transcripts[1])
        let first = (0..<min(ours.count, theirs.count)).first { ours[$0] != theirs[$0] } ?? min(ours.count, theirs.count)
        #expect(ours == theirs, """
            \(ours.count) events here, \(theirs.count) from Redis; the first difference at \(first):
            ours \(ours[first...].prefix(6)), Redis \(theirs[first...].prefix(6)); before it \(theirs[..<first].suffix(4))
            """)
        #expect(theirs.count > 100, "Redis published the events: \(theirs.count)")
    }

    /// A key that expires is an `expired` event; a key of the wrong class is not sent.
    @Test func expiredKeysAreAnnouncedAndClassesFilter() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1, service: "ds")
        let port = try server.port(service: "ds")
        let (writer, listener) = (try Connection(port: port), try Connection(port: port))
        let events = try await onThread { () throws -> [String] in
            #expect(try writer.send(["CONFIG", "SET", "notify-keyspace-events", "Exl"]) == "+OK\r\n")
            #expect(try writer.send(["CONFIG", "GET", "notify-keyspace-events"]).hasSuffix("$3\r\nlxE\r\n"))
            _ = try listener.send(["PSUBSCRIBE", "__key*__:*", "end"])
            // RPUSH first: on a busy machine the 50 ms could pass before a later command.
            _ = try writer.send(["RPUSH", "l", "a"])
            _ = try writer.send(["SET", "session:1", "v", "PX", "50"])   // a string: no `set` event (class $ not asked)
            // The periodic sweep forgets it, untouched: DBSIZE counts keys without looking at them.
            let deadline = Date().addingTimeInterval(20)
            while try writer.send(["DBSIZE"]) != ":1\r\n", Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            _ = try writer.send(["PUBLISH", "end", "end"])
            return try Self.messages(on: listener, until: "end")
        }
        #expect(events == ["__keyevent@0__:rpush l", "__keyevent@0__:expired session:1"])
    }

    /// Reads pushed messages (pmessage) until one says `marker`: "channel payload" each.
    static func messages(on connection: Connection, until marker: String) throws -> [String] {
        var bytes: [UInt8] = []
        var messages: [String] = []
        var position = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            while let end = Connection.end(of: bytes, from: position) {
                let reply = String(decoding: bytes[position..<end], as: UTF8.self).components(separatedBy: "\r\n")
                position = end
                // *4, $8, pmessage, $n, pattern, $n, channel, $n, payload: lines 6 and 8.
                guard reply.count > 8, reply[2] == "pmessage" else { continue }
                if reply[6] == marker, reply[8] == marker { return messages }
                messages.append("\(reply[6]) \(reply[8])")
            }
            let count = chunk.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw SupportError("the listener's connection closed or timed out after \(messages.count) events") }
            bytes += chunk[..<count]
        }
    }
}
