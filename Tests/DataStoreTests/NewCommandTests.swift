@testable import DataStore
import Foundation
import TestSupport
import Testing

/// The commands of issue 13 against a store in memory, as a connection runs them.
/// DataStoreParityTests compares them with redis-server at their edges.
@Suite(.blockingAllowed) struct NewCommandTests {
    typealias Client = CommandTests.Client
    let store = Store()

    static func bulks(_ items: String...) -> RESPValue { .array(items.map(RESPValue.bulk)) }
    static func length(_ reply: RESPValue) -> Int? {
        if case .array(let items?) = reply { items.count } else { nil }
    }
    static let wrongType = RESPValue.error("WRONGTYPE Operation against a key holding the wrong kind of value")

    @Test func stringsByRangeAndBit() {
        let client = Client(store)
        client.run("SET", "s", "abc")
        #expect(client.run("GETRANGE", "s", "1", "-1") == .bulk("bc"))
        #expect(client.run("SUBSTR", "s", "-100", "0") == .bulk("a"))
        #expect(client.run("GETRANGE", "s", "-1", "-2") == .bulk(""))
        #expect(client.run("SETRANGE", "s", "5", "x") == .integer(6))
        #expect(client.run("GET", "s") == .bulkString(Array("abc".utf8) + [0, 0] + Array("x".utf8)))
        #expect(client.run("SETRANGE", "none", "99", "") == .integer(0))
        #expect(client.run("EXISTS", "none") == .integer(0))
        #expect(client.run("SETRANGE", "s", "-1", "x") == .error("ERR offset is out of range"))
        #expect(client.run("SETRANGE", "s", "536870912", "x") == .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
        #expect(client.run("SETRANGE", "s", "9223372036854775807", "x") == .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
        #expect(client.run("SETBIT", "b", "7", "1") == .integer(0))
        #expect(client.run("SETBIT", "b", "7", "1") == .integer(1))
        #expect(client.run("GET", "b") == .bulk("\u{1}"))
        #expect(client.run("GETBIT", "b", "7") == .integer(1))
        #expect(client.run("GETBIT", "b", "1000") == .integer(0))
        #expect(client.run("SETBIT", "b", "4294967296", "1") == .error("ERR bit offset is not an integer or out of range"))
        #expect(client.run("SETBIT", "b", "1", "2") == .error("ERR bit is not an integer or out of range"))
        client.run("SET", "f", "foobar")
        #expect(client.run("BITCOUNT", "f") == .integer(26))
        #expect(client.run("BITCOUNT", "f", "1", "1") == .integer(6))
        #expect(client.run("BITCOUNT", "f", "5", "30", "BIT") == .integer(17))
        #expect(client.run("BITCOUNT", "f", "0") == .error("ERR syntax error"))
        #expect(client.run("BITCOUNT", "missing", "x", "y") == .integer(0))
        client.run("RPUSH", "l", "a")
        #expect(client.run("GETRANGE", "l", "0", "1") == Self.wrongType)
        #expect(client.run("SETBIT", "l", "0", "1") == Self.wrongType)
    }

    @Test func theStringLimitIsTheStores() {
        let small = Store()
        small.maxStringLength = 16
        let client = Client(small)
        #expect(client.run("SETRANGE", "s", "15", "x") == .integer(16))
        #expect(client.run("SETRANGE", "s", "16", "x") == .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
        #expect(client.run("SETBIT", "b", "128", "1") == .error("ERR bit offset is not an integer or out of range"))
        #expect(client.run("APPEND", "s", "x") == .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
    }

    @Test func getexGetdelAndMsetnx() {
        let client = Client(store)
        client.run("SET", "k", "v")
        #expect(client.run("GETEX", "k", "EX", "100") == .bulk("v"))
        #expect(client.run("TTL", "k") == .integer(100))
        #expect(client.run("GETEX", "k", "PERSIST") == .bulk("v"))
        #expect(client.run("TTL", "k") == .integer(-1))
        #expect(client.run("GETEX", "k", "PERSIST", "EX", "1") == .error("ERR syntax error"))
        #expect(client.run("GETEX", "k", "EX", "0") == .error("ERR invalid expire time in 'getex' command"))
        #expect(client.run("GETEX", "missing", "EX", "nonsense") == .null)
        #expect(client.run("GETEX", "k", "EXAT", "1") == .bulk("v"))
        #expect(client.run("EXISTS", "k") == .integer(0))
        client.run("SET", "k", "v")
        #expect(client.run("GETDEL", "k") == .bulk("v"))
        #expect(client.run("GETDEL", "k") == .null)
        #expect(client.run("MSETNX", "a", "1", "b", "2") == .integer(1))
        #expect(client.run("MSETNX", "b", "3", "c", "4") == .integer(0))
        #expect(client.run("MGET", "a", "b", "c") == .array([.bulk("1"), .bulk("2"), .null]))
        #expect(client.run("MSETNX", "a", "1", "b") == .error("ERR wrong number of arguments for 'msetnx' command"))
        #expect(client.run("SET", "k", "v", "EX", "10", "PX", "10") == .error("ERR syntax error"))
        #expect(client.run("INCRBY", "n", "007") == .error("ERR value is not an integer or out of range"))
    }

    @Test func keysCopiedRenamedAndInspected() {
        let client = Client(store)
        client.run("SET", "a", "1")
        client.run("EXPIREAT", "a", "4000000000")
        #expect(client.run("EXPIRETIME", "a") == .integer(4_000_000_000))
        #expect(client.run("PEXPIRETIME", "a") == .integer(4_000_000_000_000))
        #expect(client.run("EXPIRETIME", "missing") == .integer(-2))
        #expect(client.run("COPY", "a", "b") == .integer(1))
        #expect(client.run("EXPIRETIME", "b") == .integer(4_000_000_000))
        #expect(client.run("COPY", "a", "b") == .integer(0))
        #expect(client.run("COPY", "a", "b", "DB", "2", "REPLACE") == .integer(1))
        #expect(client.run("COPY", "a", "a") == .error("ERR source and destination objects are the same"))
        #expect(client.run("COPY", "a", "b", "DB", "16") == .error("ERR DB index is out of range"))
        client.run("SELECT", "2")
        #expect(client.run("GET", "b") == .bulk("1"))
        client.run("SELECT", "0")
        #expect(client.run("RENAMENX", "a", "b") == .integer(0))
        #expect(client.run("RENAMENX", "a", "c") == .integer(1))
        #expect(client.run("RENAMENX", "missing", "c") == .error("ERR no such key"))
        #expect(client.run("UNLINK", "b", "c", "missing") == .integer(2))
        client.run("SET", "k", "v")
        #expect(client.run("TOUCH", "k", "missing") == .integer(1))
        #expect(client.run("OBJECT", "ENCODING", "k") == .bulk("embstr"))
        client.run("SET", "n", "42")
        #expect(client.run("OBJECT", "ENCODING", "n") == .bulk("int"))
        client.run("RPUSH", "l", "x")
        #expect(client.run("OBJECT", "ENCODING", "l") == .bulk("quicklist"))
        client.run("SADD", "ints", "1", "2")
        #expect(client.run("OBJECT", "ENCODING", "ints") == .bulk("intset"))
        #expect(client.run("OBJECT", "ENCODING", "missing") == .null)
        #expect(client.run("OBJECT", "ENCODING") == .error("ERR wrong number of arguments for 'object|encoding' command"))
        #expect(client.run("OBJECT", "NOPE", "k") == .error("ERR unknown subcommand 'NOPE'. Try OBJECT HELP."))
    }

    @Test func listsSearchedInsertedAndMoved() {
        let client = Client(store)
        client.run("RPUSH", "l", "a", "b", "c", "b")
        #expect(client.run("LINSERT", "l", "BEFORE", "b", "x") == .integer(5))
        #expect(client.run("LINSERT", "l", "AFTER", "nope", "x") == .integer(-1))
        #expect(client.run("LPOS", "l", "b") == .integer(2))
        #expect(client.run("LPOS", "l", "b", "RANK", "-1") == .integer(4))
        #expect(client.run("LPOS", "l", "b", "COUNT", "0") == .array([.integer(2), .integer(4)]))
        #expect(client.run("LPOS", "l", "b", "RANK", "0") == .error("ERR RANK can't be zero: use 1 to start from the first match, "
            + "2 from the second ... or use negative to start from the end of the list"))
        #expect(client.run("LPUSHX", "missing", "a") == .integer(0))
        #expect(client.run("RPUSHX", "l", "z") == .integer(6))
        #expect(client.run("LMOVE", "l", "other", "LEFT", "RIGHT") == .bulk("a"))
        #expect(client.run("LMOVE", "l", "l", "RIGHT", "LEFT") == .bulk("z"))
        #expect(client.run("LRANGE", "l", "0", "-1") == Self.bulks("z", "x", "b", "c", "b"))
        #expect(client.run("LMPOP", "2", "missing", "l", "RIGHT", "COUNT", "2") == .array([.bulk("l"), Self.bulks("b", "c")]))
        #expect(client.run("LMPOP", "1", "missing", "LEFT") == .array(nil))
        client.run("SET", "s", "v")
        #expect(client.run("LMOVE", "l", "s", "LEFT", "LEFT") == Self.wrongType)
        #expect(client.run("RPOPLPUSH", "missing", "s") == .null)
    }

    @Test func blockingMovesWaitForAListAndTheirTimeout() {
        let waiting = Client(store, id: 1)
        var timeouts: [() -> Void] = []
        waiting.session.scheduleTimeout = { _, action in timeouts.append(action) }
        waiting.session.resume = {}
        let writer = Client(store, id: 2)
        #expect(waiting.all("BLMOVE", "src", "dst", "LEFT", "RIGHT", "5").isEmpty)
        writer.run("RPUSH", "tmp", "a", "b")
        #expect(writer.run("RENAMENX", "tmp", "src") == .integer(1))
        #expect(waiting.pushed == [.bulk("a")])
        #expect(writer.run("LRANGE", "dst", "0", "-1") == Self.bulks("a"))
        #expect(waiting.all("BLMPOP", "5", "2", "q1", "q2", "LEFT", "COUNT", "5").isEmpty)
        #expect(writer.run("COPY", "src", "q2") == .integer(1))
        #expect(waiting.pushed.last == .array([.bulk("q2"), Self.bulks("b")]))
        #expect(waiting.all("BRPOPLPUSH", "none", "dst", "1").isEmpty)
        timeouts.last?()
        #expect(waiting.pushed.last == .array(nil))
        // Inside a transaction they answer at once; BLMOVE with a null string.
        waiting.run("MULTI")
        waiting.run("BLMOVE", "none", "dst", "LEFT", "LEFT", "0")
        waiting.run("BLMPOP", "0", "1", "none", "LEFT")
        #expect(waiting.run("EXEC") == .array([.null, .array(nil)]))
    }

    @Test func watchSeesTheNewCommandsWrites() {
        let client = Client(store, id: 1)
        let other = Client(store, id: 2)
        for write in [["SETRANGE", "k", "0", "x"], ["SETBIT", "k", "1", "1"], ["GETDEL", "k"], ["GETEX", "k", "EX", "100"], ["RENAME", "c", "k"],
                      ["COPY", "c", "k", "REPLACE"], ["ZUNIONSTORE", "k", "1", "z"]] {
            client.run("SET", "k", "v")
            client.run("RPUSH", "l", "a")
            client.run("SET", "c", "copy")
            client.run("ZADD", "z", "1", "m")
            client.run("WATCH", "k")
            _ = other.session.execute(write.map { Array($0.utf8) })
            client.run("MULTI")
            client.run("GET", "k")
            #expect(client.run("EXEC") == .array(nil), "\(write)")
        }
    }

    @Test func setsHashesAndSortedSets() {
        let client = Client(store)
        client.run("SADD", "s1", "a", "b")
        #expect(client.run("SMOVE", "s1", "s2", "a") == .integer(1))
        #expect(client.run("SMOVE", "s1", "s2", "nope") == .integer(0))
        #expect(client.run("SMISMEMBER", "s2", "a", "b") == .array([.integer(1), .integer(0)]))
        client.run("SADD", "s3", "a", "b", "c")
        #expect(client.run("SINTERCARD", "2", "s2", "s3") == .integer(1))
        #expect(client.run("SINTERCARD", "1", "s3", "LIMIT", "2") == .integer(2))
        #expect(client.run("SINTERCARD", "0", "s3") == .error("ERR numkeys should be greater than 0"))
        client.run("HSET", "h", "f", "v")
        #expect(client.run("HRANDFIELD", "h") == .bulk("f"))
        #expect(client.run("HRANDFIELD", "h", "-3", "WITHVALUES") == Self.bulks("f", "v", "f", "v", "f", "v"))
        #expect(client.run("HRANDFIELD", "h", "5") == Self.bulks("f"))
        client.run("ZADD", "z", "1", "a", "2", "b", "3", "c")
        client.run("ZADD", "y", "10", "b", "20", "d")
        #expect(client.run("ZPOPMIN", "z") == Self.bulks("a", "1"))
        #expect(client.run("ZPOPMAX", "z", "5") == Self.bulks("c", "3", "b", "2"))
        client.run("ZADD", "z", "1", "a", "2", "b", "3", "c")
        #expect(client.run("ZMSCORE", "z", "a", "x") == .array([.bulk("1"), .null]))
        #expect(client.run("ZUNION", "2", "z", "y", "WITHSCORES") == Self.bulks("a", "1", "c", "3", "b", "12", "d", "20"))
        #expect(client.run("ZINTER", "2", "z", "y", "AGGREGATE", "MAX", "WITHSCORES") == Self.bulks("b", "10"))
        #expect(client.run("ZDIFF", "2", "z", "y") == Self.bulks("a", "c"))
        #expect(client.run("ZINTERCARD", "2", "z", "y") == .integer(1))
        #expect(client.run("ZDIFFSTORE", "d", "2", "z", "y") == .integer(2))
        #expect(client.run("ZRANGESTORE", "r", "z", "1", "-1") == .integer(2))
        #expect(client.run("ZRANGE", "r", "0", "-1") == Self.bulks("b", "c"))
        #expect(client.run("ZREMRANGEBYSCORE", "z", "(1", "2") == .integer(1))
        #expect(client.run("ZREMRANGEBYRANK", "z", "0", "0") == .integer(1))
        #expect(client.run("ZREMRANGEBYLEX", "z", "-", "+") == .integer(1))
        #expect(client.run("EXISTS", "z") == .integer(0))
        #expect(Self.length(client.run("ZRANDMEMBER", "y", "-4")) == 4)
        #expect(client.run("ZUNION", "0", "z") == .error("ERR at least 1 input key is needed for 'zunion' command"))
    }
}
