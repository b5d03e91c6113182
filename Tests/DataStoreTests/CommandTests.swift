@testable import DataStore
import Foundation
import NIOCore
import TestSupport
import Testing

/// Commands against a store in memory, as a connection runs them.
@Suite(.blockingAllowed) struct CommandTests {
    final class Client {
        let session: Session
        var pushed: [RESPValue] = []
        init(_ store: Store, id: Int = 1) {
            var sink: ((RESPValue) -> Void)?
            session = Session(store: store, id: id, address: "test") { sink?($0) }
            sink = { [unowned self] in self.pushed.append(Self.wire($0)) }
        }

        /// Replies as a RESP2 client reads them: written to bytes and parsed back.
        @discardableResult
        func run(_ words: String...) -> RESPValue { all(words).first ?? .null }
        func all(_ words: String...) -> [RESPValue] { all(words) }
        func all(_ words: [String]) -> [RESPValue] { session.execute(words.map { Array($0.utf8) }).map(Self.wire) }

        static func wire(_ value: RESPValue) -> RESPValue {
            var buffer = ByteBuffer()
            value.write(to: &buffer)
            return (try? RESPValue.parse(&buffer)) ?? .error("unparsable")
        }
    }

    let store = Store()

    @Test func stringsAndCounters() {
        let client = Client(store)
        #expect(client.run("SET", "k", "v") == .ok)
        #expect(client.run("GET", "k") == .bulk("v"))
        #expect(client.run("SET", "k", "w", "NX") == .null)
        #expect(client.run("SET", "k", "w", "XX", "GET") == .bulk("v"))
        #expect(client.run("APPEND", "k", "!!") == .integer(3))
        #expect(client.run("STRLEN", "k") == .integer(3))
        #expect(client.run("INCR", "n") == .integer(1))
        #expect(client.run("INCRBY", "n", "41") == .integer(42))
        #expect(client.run("DECRBY", "n", "2") == .integer(40))
        #expect(client.run("INCRBYFLOAT", "f", "1.5") == .bulk("1.5"))
        #expect(client.run("INCR", "k") == .error("ERR value is not an integer or out of range"))
        #expect(client.run("MSET", "a", "1", "b", "2") == .ok)
        #expect(client.run("MGET", "a", "b", "nope") == .array([.bulk("1"), .bulk("2"), .null]))
        #expect(client.run("GETSET", "a", "9") == .bulk("1"))
        #expect(client.run("SETNX", "a", "x") == .integer(0))
        client.run("SET", "big", "9223372036854775807")
        #expect(client.run("INCR", "big") == .error("ERR increment or decrement would overflow"))
    }

    /// A counter lives in the slot's word up to 7 characters and in an array beyond;
    /// INCR reads and writes either form, and keeps the key's expiry.
    @Test func countersAcrossTheSevenCharacterForm() {
        let client = Client(store)
        client.run("SET", "c", "9999998", "EX", "100")
        #expect(client.run("INCR", "c") == .integer(9_999_999))
        #expect(client.run("INCR", "c") == .integer(10_000_000))
        #expect(client.run("GET", "c") == .bulk("10000000"))
        #expect(client.run("DECRBY", "c", "10999999") == .integer(-999_999))
        #expect(client.run("DECR", "c") == .integer(-1_000_000))
        #expect(client.run("GET", "c") == .bulk("-1000000"))
        #expect([.integer(99), .integer(100)].contains(client.run("TTL", "c")))   // kept, however slow the machine
        for spelling in ["-0", "007", "+1", "1 ", "", "-", "12a"] {
            client.run("SET", "odd", spelling)
            #expect(client.run("INCR", "odd") == .error("ERR value is not an integer or out of range"), "\(spelling)")
            #expect(client.run("GET", "odd") == .bulk(spelling))
        }
        client.run("LPUSH", "list", "1")
        #expect(client.run("INCR", "list") == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
    }

    /// A collection is changed in place in its box: a COPY must get boxes of its own,
    /// or a change through one key would show through the other.
    @Test func copiesOfEveryKindChangeApart() {
        let client = Client(store)
        client.run("RPUSH", "l", "a")
        client.run("HSET", "h", "f", "1")
        client.run("SADD", "s", "a")
        client.run("ZADD", "z", "1", "a")
        client.run("XADD", "x", "1-1", "f", "v")
        for key in ["l", "h", "s", "z", "x"] { #expect(client.run("COPY", key, key + "2") == .integer(1)) }
        client.run("RPUSH", "l", "b")
        client.run("LPUSH", "l2", "z")
        client.run("HSET", "h2", "g", "2")
        client.run("SADD", "s", "b")
        client.run("ZINCRBY", "z2", "5", "a")
        client.run("XADD", "x2", "2-1", "f", "w")
        #expect(client.run("LRANGE", "l", "0", "-1") == .array([.bulk("a"), .bulk("b")]))
        #expect(client.run("LRANGE", "l2", "0", "-1") == .array([.bulk("z"), .bulk("a")]))
        #expect(client.run("HLEN", "h") == .integer(1) && client.run("HLEN", "h2") == .integer(2))
        #expect(client.run("SCARD", "s") == .integer(2) && client.run("SCARD", "s2") == .integer(1))
        #expect(client.run("ZSCORE", "z", "a") == .bulk("1") && client.run("ZSCORE", "z2", "a") == .bulk("6"))
        #expect(client.run("XLEN", "x") == .integer(1) && client.run("XLEN", "x2") == .integer(2))
        // Emptied through one key, the other keeps its members.
        client.run("LPOP", "l2", "2")
        #expect(client.run("EXISTS", "l2") == .integer(0) && client.run("LLEN", "l") == .integer(2))
    }

    @Test func shortStringsSpellIntegersAsDecimal() {
        for value in [0, 1, 9, 10, -1, -9, -10, 42, 9_999_999, -999_999, 1_234_567, -123_456] {
            let short = ShortString(integer: value)
            #expect(short?.bytes == Array(String(value).utf8), "\(value)")
            #expect(short?.integer == value)
            #expect(ShortString(Array(String(value).utf8))?.integer == value)
        }
        #expect(ShortString(integer: 10_000_000) == nil && ShortString(integer: -1_000_000) == nil)
        for spelling in ["", "-", "-0", "00", "01", "+1", " 1", "1a", "--1"] {
            #expect(ShortString(Array(spelling.utf8))?.integer == nil, "\(spelling)")
        }
    }

    @Test func expiryAndKeys() {
        let client = Client(store)
        client.run("SET", "session", "x", "PX", "50")
        #expect(client.run("PTTL", "session") != .integer(-1))
        #expect(client.run("TTL", "missing") == .integer(-2))
        client.run("SET", "forever", "y")
        #expect(client.run("TTL", "forever") == .integer(-1))
        #expect(client.run("EXPIRE", "forever", "100") == .integer(1))
        #expect(client.run("TTL", "forever") == .integer(100))
        #expect(client.run("PERSIST", "forever") == .integer(1))
        usleep(80_000)
        // Its time is up, but nothing has looked at it: DBSIZE still counts it, as Redis 7 does.
        #expect(client.run("DBSIZE") == .integer(2))
        #expect(client.run("GET", "session") == .null)
        #expect(client.run("DBSIZE") == .integer(1))
        #expect(client.run("EXISTS", "session", "forever") == .integer(1))
        #expect(client.run("TYPE", "forever") == .simpleString("string"))
        #expect(client.run("RENAME", "forever", "always") == .ok)
        #expect(client.run("RENAME", "nothing", "x") == .error("ERR no such key"))
        client.run("SET", "user:1", "a")
        client.run("SET", "user:2", "b")
        #expect(client.run("KEYS", "user:*") == .array([.bulk("user:1"), .bulk("user:2")]))
        #expect(client.run("DEL", "user:1", "user:9") == .integer(1))
        #expect(client.run("DBSIZE") == .integer(2))
    }

    @Test func scanWalksEveryKeyOnce() {
        let client = Client(store)
        for index in 0..<25 { client.run("SET", "key\(index)", "v") }
        var cursor = "0", seen: [String] = []
        repeat {
            guard case .array(let parts?) = client.run("SCAN", cursor, "COUNT", "7"), case .bulkString(let next?) = parts[0],
                  case .array(let keys?) = parts[1] else { Issue.record("bad SCAN reply"); return }
            seen += keys.compactMap { $0.bytes.map { String(decoding: $0, as: UTF8.self) } }
            cursor = String(decoding: next, as: UTF8.self)
        } while cursor != "0"
        #expect(Set(seen).count == 25 && seen.count == 25)
    }

    @Test func hashesListsAndSets() {
        let client = Client(store)
        #expect(client.run("HSET", "h", "a", "1", "b", "2") == .integer(2))
        #expect(client.run("HINCRBY", "h", "a", "5") == .integer(6))
        #expect(client.run("HGETALL", "h") == .array([.bulk("a"), .bulk("6"), .bulk("b"), .bulk("2")]))
        #expect(client.run("HDEL", "h", "a", "b") == .integer(2))
        #expect(client.run("EXISTS", "h") == .integer(0))                     // emptied collections vanish
        #expect(client.run("RPUSH", "l", "a", "b", "c") == .integer(3))
        #expect(client.run("LPUSH", "l", "z") == .integer(4))
        #expect(client.run("LRANGE", "l", "0", "-1") == .array(["z", "a", "b", "c"].map(RESPValue.bulk)))
        #expect(client.run("LRANGE", "l", "-2", "100") == .array(["b", "c"].map(RESPValue.bulk)))
        #expect(client.run("LINDEX", "l", "-1") == .bulk("c"))
        #expect(client.run("LPOP", "l") == .bulk("z"))
        #expect(client.run("RPOPLPUSH", "l", "other") == .bulk("c"))
        #expect(client.run("LREM", "l", "0", "a") == .integer(1))
        #expect(client.run("LTRIM", "l", "0", "0") == .ok)
        #expect(client.run("LLEN", "l") == .integer(1))
        #expect(client.run("SADD", "s1", "a", "b", "c") == .integer(3))
        #expect(client.run("SADD", "s2", "b", "c", "d") == .integer(3))
        #expect(client.run("SINTER", "s1", "s2") == .array(["b", "c"].map(RESPValue.bulk)))
        #expect(client.run("SUNION", "s1", "s2") == .array(["a", "b", "c", "d"].map(RESPValue.bulk)))
        #expect(client.run("SDIFF", "s1", "s2") == .array([.bulk("a")]))
        #expect(client.run("SINTERSTORE", "both", "s1", "s2") == .integer(2))
        #expect(client.run("SISMEMBER", "both", "c") == .integer(1))
        #expect(client.run("GET", "both") == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
        #expect(client.run("LPUSH", "s1", "x") == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
    }

    @Test func errorsAreWordedAsRedisWordsThem() {
        let client = Client(store)
        #expect(client.run("GET") == .error("ERR wrong number of arguments for 'get' command"))
        #expect(client.run("FLY", "away", "now") == .error("ERR unknown command 'FLY', with args beginning with: 'away' 'now' "))
        #expect(client.run("SELECT", "16") == .error("ERR DB index is out of range"))
        #expect(client.run("SET", "k", "v", "EX", "0") == .error("ERR invalid expire time in 'set' command"))
        #expect(client.run("SET", "k", "v", "BOGUS") == .error("ERR syntax error"))
    }

    @Test func databasesAreSeparate() {
        let client = Client(store)
        client.run("SET", "k", "zero")
        #expect(client.run("SELECT", "3") == .ok)
        #expect(client.run("GET", "k") == .null)
        client.run("SET", "k", "three")
        client.run("SELECT", "0")
        #expect(client.run("GET", "k") == .bulk("zero"))
        #expect(client.run("FLUSHALL") == .ok)
        #expect(client.run("DBSIZE") == .integer(0))
    }

    @Test func pubSubAcrossConnectionsAndSubscribeMode() {
        let subscriber = Client(store, id: 1)
        let patterned = Client(store, id: 2)
        let publisher = Client(store, id: 3)
        #expect(subscriber.all("SUBSCRIBE", "webchat", "chatuser") == [
            .array([.bulk("subscribe"), .bulk("webchat"), .integer(1)]),
            .array([.bulk("subscribe"), .bulk("chatuser"), .integer(2)]),
        ])
        #expect(patterned.run("PSUBSCRIBE", "web*") == .array([.bulk("psubscribe"), .bulk("web*"), .integer(1)]))
        #expect(publisher.run("PUBLISH", "webchat", "hi") == .integer(2))
        #expect(subscriber.pushed == [.array([.bulk("message"), .bulk("webchat"), .bulk("hi")])])
        #expect(patterned.pushed == [.array([.bulk("pmessage"), .bulk("web*"), .bulk("webchat"), .bulk("hi")])])
        #expect(publisher.run("PUBSUB", "NUMSUB", "webchat", "nobody") == .array([.bulk("webchat"), .integer(1), .bulk("nobody"), .integer(0)]))
        #expect(publisher.run("PUBSUB", "CHANNELS") == .array([.bulk("chatuser"), .bulk("webchat")]))
        #expect(subscriber.run("GET", "x") == .error("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
        #expect(subscriber.all("UNSUBSCRIBE").count == 2)
        #expect(subscriber.run("GET", "x") == .null)
        #expect(publisher.run("PUBLISH", "webchat", "again") == .integer(1))
        patterned.session.close()
        #expect(publisher.run("PUBLISH", "webchat", "gone") == .integer(0))
    }

    @Test func authenticationWhenAPasswordIsSet() {
        let client = Client(Store(password: "s3cret"))
        #expect(client.run("GET", "k") == .error("NOAUTH Authentication required."))
        #expect(client.run("AUTH", "wrong") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        #expect(client.run("AUTH", "s3cret") == .ok)
        #expect(client.run("GET", "k") == .null)
    }
}

@Suite(.blockingAllowed) struct TransactionAndSortedSetTests {
    typealias Client = CommandTests.Client
    let store = Store()

    @Test func sortedSets() {
        let client = Client(store)
        #expect(client.run("ZADD", "board", "10", "ada", "20", "bob", "15", "cy") == .integer(3))
        #expect(client.run("ZADD", "board", "CH", "25", "ada") == .integer(1))
        #expect(client.run("ZADD", "board", "NX", "1", "ada") == .integer(0))
        #expect(client.run("ZADD", "board", "GT", "5", "bob") == .integer(0))
        #expect(client.run("ZSCORE", "board", "bob") == .bulk("20"))
        #expect(client.run("ZINCRBY", "board", "2.5", "cy") == .bulk("17.5"))
        #expect(client.run("ZRANGE", "board", "0", "-1", "WITHSCORES") == .array(["cy", "17.5", "bob", "20", "ada", "25"].map(RESPValue.bulk)))
        #expect(client.run("ZREVRANGE", "board", "0", "0") == .array([.bulk("ada")]))
        #expect(client.run("ZRANGEBYSCORE", "board", "(17.5", "+inf") == .array([.bulk("bob"), .bulk("ada")]))
        #expect(client.run("ZRANK", "board", "bob") == .integer(1))
        #expect(client.run("ZREVRANK", "board", "bob") == .integer(1))
        #expect(client.run("ZCOUNT", "board", "-inf", "20") == .integer(2))
        #expect(client.run("ZREM", "board", "bob", "nobody") == .integer(1))
        #expect(client.run("ZCARD", "board") == .integer(2))
        #expect(client.run("TYPE", "board") == .simpleString("zset"))
        #expect(client.run("ZADD", "board", "NX", "XX", "1", "a") == .error("ERR XX and NX options at the same time are not compatible"))
    }

    @Test func multiExecAndWatch() {
        let client = Client(store, id: 1)
        let other = Client(store, id: 2)
        #expect(client.run("MULTI") == .ok)
        #expect(client.run("SET", "a", "1") == .simpleString("QUEUED"))
        #expect(client.run("INCR", "a") == .simpleString("QUEUED"))
        #expect(client.run("EXEC") == .array([.ok, .integer(2)]))
        #expect(client.run("EXEC") == .error("ERR EXEC without MULTI"))

        #expect(client.run("WATCH", "a") == .ok)
        other.run("SET", "a", "changed")
        client.run("MULTI")
        client.run("SET", "a", "mine")
        #expect(client.run("EXEC") == .array(nil))
        #expect(client.run("GET", "a") == .bulk("changed"))

        client.run("WATCH", "a")
        client.run("MULTI")
        client.run("SET", "a", "mine")
        #expect(client.run("EXEC") == .array([.ok]))

        client.run("MULTI")
        #expect(client.run("GET") == .error("ERR wrong number of arguments for 'get' command"))
        #expect(client.run("EXEC") == .error("EXECABORT Transaction discarded because of previous errors."))
        client.run("MULTI")
        client.run("SET", "a", "never")
        #expect(client.run("DISCARD") == .ok)
        #expect(client.run("GET", "a") == .bulk("mine"))
        #expect(client.run("MULTI") == .ok)
        #expect(client.run("MULTI") == .error("ERR MULTI calls can not be nested"))
    }

    @Test func blockingPopsWaitForAPushOrTheirTimeout() {
        let waiting = Client(store, id: 1)
        var timeouts: [() -> Void] = []
        var resumed = 0
        waiting.session.scheduleTimeout = { _, action in timeouts.append(action) }
        waiting.session.resume = { resumed += 1 }
        let pusher = Client(store, id: 2)
        #expect(waiting.all("BLPOP", "jobs", "other", "5").isEmpty)
        #expect(waiting.session.blocked != nil)
        #expect(pusher.run("RPUSH", "jobs", "first", "second") == .integer(2))
        #expect(waiting.pushed == [.array([.bulk("jobs"), .bulk("first")])])
        #expect(resumed == 1 && waiting.session.blocked == nil)
        #expect(pusher.run("LRANGE", "jobs", "0", "-1") == .array([.bulk("second")]))
        #expect(waiting.all("BRPOP", "empty", "1").isEmpty)
        timeouts.last?()
        #expect(waiting.pushed.last == .array(nil))
        #expect(waiting.run("BLPOP", "jobs", "0") == .array([.bulk("jobs"), .bulk("second")]))
    }

    @Test func snapshotsRoundTripWithExpiry() throws {
        let client = Client(store)
        client.run("SET", "s", "v")
        client.run("SET", "temp", "t", "EX", "1000")
        client.run("RPUSH", "l", "a", "b")
        client.run("HSET", "h", "f", "v")
        client.run("SADD", "set", "m")
        client.run("ZADD", "z", "1.5", "m")
        client.run("SELECT", "7")
        client.run("SET", "seven", "7")
        client.run("SET", "gone", "x", "PX", "1")
        usleep(5_000)
        let bytes = Snapshot.encode(store)
        let restored = Store()
        try Snapshot.decode(bytes, into: restored)
        let reader = Client(restored)
        #expect(reader.run("GET", "s") == .bulk("v"))
        guard case .integer(let ttl) = reader.run("TTL", "temp") else { Issue.record("no TTL"); return }
        #expect(ttl > 990 && ttl <= 1000)
        #expect(reader.run("LRANGE", "l", "0", "-1") == .array([.bulk("a"), .bulk("b")]))
        #expect(reader.run("HGET", "h", "f") == .bulk("v"))
        #expect(reader.run("SISMEMBER", "set", "m") == .integer(1))
        #expect(reader.run("ZSCORE", "z", "m") == .bulk("1.5"))
        reader.run("SELECT", "7")
        #expect(reader.run("GET", "seven") == .bulk("7"))
        #expect(reader.run("EXISTS", "gone") == .integer(0))
        #expect(throws: SnapshotError.self) { try Snapshot.decode(Array("not a snapshot".utf8), into: Store()) }
        #expect(throws: SnapshotError.self) { try Snapshot.decode(Array(bytes.prefix(bytes.count / 2)), into: Store()) }
        #expect(SaveRule(parsing: "60:1000") == SaveRule(seconds: 60, changes: 1000))
        #expect(SaveRule(parsing: "60") == nil && SaveRule(parsing: "0:1") == nil)
    }

    /// Each key's slot holds a `StoreValue`: a word and a tag, or a million string keys
    /// pay for the widest payload (a stream inline cost 88 bytes a slot).
    @Test func aStoredValueIsAWordAndATag() {
        #expect(MemoryLayout<StoreValue>.size <= MemoryLayout<Int>.size + 1)
    }

    /// Strings of up to 7 bytes live in the slot; they read, grow and count as any string.
    @Test func shortStringsAreKeptInTheSlotAndReadAsStrings() {
        let store = Store()
        let client = Client(store)
        client.run("SET", "n", "1234567")
        client.run("SET", "e", "")
        client.run("SET", "x", "12345678")
        let values = store.databases[0].values
        guard case .shortString? = values[Array("n".utf8)], case .shortString? = values[Array("e".utf8)],
              case .string? = values[Array("x".utf8)] else {
            Issue.record("not stored as expected: \(values)")
            return
        }
        #expect(client.run("GET", "n") == .bulkString(Array("1234567".utf8)))
        #expect(client.run("GET", "e") == .bulkString([]))
        #expect(client.run("OBJECT", "ENCODING", "n") == .bulkString(Array("int".utf8)))
        #expect(client.run("TYPE", "n") == .simpleString("string"))
        #expect(client.run("INCR", "n") == .integer(1234568))
        #expect(client.run("APPEND", "n", "9") == .integer(8))
        #expect(client.run("GET", "n") == .bulkString(Array("12345689".utf8)))
        #expect(client.run("STRLEN", "e") == .integer(0) && client.run("GETRANGE", "x", "-2", "-1") == .bulkString(Array("78".utf8)))
        // Bytes that are not text, and a zero byte, come back as they went in.
        _ = client.session.execute([Array("SET".utf8), Array("b".utf8), [0, 255, 0x80, 7]])
        #expect(client.run("GET", "b") == .bulkString([0, 255, 0x80, 7]))
    }
}
