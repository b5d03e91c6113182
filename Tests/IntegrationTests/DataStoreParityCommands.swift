import Foundation

/// The commands DataStoreParityTests sends to the embedded store and to redis-server,
/// and how two replies are judged the same.
enum ParityCommands {
    /// Every command of issue 13 at its edges: missing keys, wrong types, bad and
    /// huge numbers, option clashes. Each line is sent to a fresh pair of stores in order.
    static let fixed: [[String]] = [
        "SET s abc", "GETRANGE s 0 -1", "GETRANGE s -100 -50", "GETRANGE s 5 10", "GETRANGE missing 0 -1", "GETRANGE s x 1",
        "GETRANGE s -9223372036854775808 9223372036854775807", "SUBSTR s 1 1", "GETRANGE s -1 -2", "GETRANGE s 2 1",
        "GETBIT s 9223372036854775807", "GETBIT s 4294967296", "GETBIT s 4294967295", "GETBIT s -1", "GETBIT s 1", "GETBIT missing 1",
        "SETBIT s 1 x", "SETBIT s 1 -1", "SETBIT s 1 2", "SETBIT s 2 1", "SETBIT s 2 0", "SETBIT s 100 1", "GET s",
        "SETBIT s 4294967296 1", "SETBIT s -1 1", "SETBIT s 9223372036854775807 1", "SETBIT s x 1",
        "BITCOUNT s", "BITCOUNT s 0 -1 BYTE", "BITCOUNT s 0 -1 bit", "BITCOUNT s 5 1 BIT", "BITCOUNT s 3 17 BIT", "BITCOUNT s 9 9 BIT",
        "BITCOUNT s -5 -1 BIT", "BITCOUNT s -9223372036854775808 9223372036854775807 bit", "BITCOUNT s 1", "BITCOUNT s -1 -2 foo",
        "BITCOUNT missing 0 1 bit", "BITCOUNT missing x y", "BITCOUNT s 0 1 byte x", "BITCOUNT s x 1", "BITCOUNT s 0 1 WORD",
        "SETRANGE missing 0 ''", "SETRANGE missing 5 ''", "EXISTS missing", "SETRANGE s 5 ''", "SETRANGE s 5 x", "GET s",
        "SETRANGE missing 536870912 ''", "SETRANGE s 9223372036854775807 x", "SETRANGE s 536870912 x", "SETRANGE s -1 x",
        "SETRANGE s x x", "SETRANGE s 007 x", "SETRANGE new 3 abc", "GET new", "RPUSH l a", "SETRANGE l 0 ''", "GETRANGE l 0 1",
        "BITCOUNT l", "GETBIT l 0", "SETBIT l 0 1", "GETEX l", "GETDEL l", "APPEND l x",
        "GETEX s", "GETEX s EX 100", "TTL s", "GETEX s PERSIST", "TTL s", "GETEX s PX 100000 PX 200000", "GETEX s EX 10 PX 20",
        "GETEX s PERSIST EX 10", "GETEX s EX 0", "GETEX s EX abc", "GETEX missing EX abc", "GETEX s EXAT 1", "EXISTS s",
        "SET s v", "GETEX s PXAT 9223372036854775807", "PEXPIRETIME s", "EXPIRETIME s", "GETEX s EX 9223372036854775807",
        "GETEX s EX -9223372036854775808", "GETEX s FOO", "GETEX s EX", "GETEX s KEEPTTL", "GETDEL s", "GETDEL s", "GETDEL",
        "MSETNX a 1 b 2", "MSETNX a 1 c 2", "MSETNX a", "MSETNX a 1 b", "MGET a b c",
        "SET k v EX 10 PX 10", "SET k v EX 10 KEEPTTL", "SET k v KEEPTTL EX 10", "SET k v NX XX", "SET k v GET GET",
        "SET k v EX 10 EX 20", "TTL k", "SET k v PX 0", "SET k v EX abc BOGUS", "SET k v PERSIST",
        "OBJECT ENCODING a", "OBJECT ENCODING missing", "OBJECT FREQ a", "OBJECT FREQ missing", "OBJECT REFCOUNT b",
        "OBJECT ENCODING", "OBJECT FOO a", "OBJECT HELP x", "OBJECT HELP", "OBJECT",
        "SET long aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "OBJECT ENCODING long", "SET big 12345678901234567890",
        "OBJECT ENCODING big", "RPUSH l2 a", "OBJECT ENCODING l2", "HSET h f v", "OBJECT ENCODING h", "SADD st 1 2 -3",
        "OBJECT ENCODING st", "SADD st2 01", "OBJECT ENCODING st2", "ZADD z 1 a", "OBJECT ENCODING z",
        // Keys
        "FLUSHALL", "SET a 1", "EXPIRE a 100", "COPY a b", "TTL b", "COPY a b", "COPY a b REPLACE", "COPY a a", "COPY a a DB 1",
        "COPY a b DB 16", "COPY a b DB -1", "COPY a b DB 4294967296", "COPY a b DB x", "COPY a b DB", "COPY a b FOO", "COPY missing b",
        "COPY missing missing", "SELECT 1", "GET a", "SELECT 0", "RENAMENX a b", "RENAMENX a c", "TTL c", "RENAMENX missing c",
        "RENAMENX c c", "RENAME c c", "RENAME missing missing", "UNLINK b c missing", "TOUCH a b c", "SET k 1",
        "PEXPIREAT k 9223372036854775807", "EXPIRETIME k", "PEXPIRETIME k", "EXPIRETIME missing", "SET k 2", "EXPIRETIME k",
        "EXPIREAT k 2000000000", "EXPIRETIME k", "PEXPIRETIME k", "PEXPIREAT k 2000000000499", "EXPIRETIME k",
        "PEXPIREAT k 2000000000500", "EXPIRETIME k", "UNLINK", "TOUCH", "EXPIRETIME", "RENAMENX a",
        // Lists
        "RPUSH l a b c b a", "LINSERT l middle a b", "LINSERT missing before a b", "LINSERT l before x b", "LINSERT l AFTER b X",
        "LINSERT l before a Y", "LRANGE l 0 -1", "LPUSHX missing a", "RPUSHX l c d", "LPUSHX l 1 2", "LRANGE l 0 -1",
        "LMOVE l l left right", "LRANGE l 0 -1", "LMOVE missing l left up", "LMOVE l x up left", "SET str v",
        "LMOVE missing str left left", "LMOVE l str left left", "LMOVE str l left left", "LMOVE l l2 right left",
        "LMOVE l l2 left right", "LRANGE l2 0 -1", "RPOPLPUSH missing str", "RPOPLPUSH l str", "RPOPLPUSH l l2", "LINSERT str before a b",
        "LPUSHX str a", "LPOS l a", "LPOS l b RANK -1", "LPOS l b COUNT 0", "LPOS l b COUNT 0 RANK -1",
        "LPOS l b RANK -9223372036854775808", "LPOS l b RANK -9223372036854775808 COUNT 1", "LPOS l b RANK 9223372036854775807 COUNT 0",
        "LPOS l b RANK 0", "LPOS l b COUNT -1", "LPOS l b COUNT x", "LPOS l b MAXLEN -1", "LPOS l b MAXLEN 2", "LPOS l b MAXLEN 2 COUNT 0",
        "LPOS l b RANK", "LPOS l b FOO 1", "LPOS missing b", "LPOS missing b COUNT 1", "LPOS str b", "LPOS l b RANK x",
        "LMPOP 9223372036854775807 a left", "LMPOP 2 a left", "LMPOP 1 a", "LMPOP 0 a left", "LMPOP x a left", "LMPOP 1 a middle",
        "LMPOP 1 a left COUNT 0", "LMPOP 1 a left COUNT x", "LMPOP 1 a left COUNT 1 COUNT 2", "LMPOP 1 a left COUNT",
        "LMPOP 2 missing l right COUNT 2", "LMPOP 2 missing l left COUNT 9223372036854775807", "LMPOP 2 missing str left",
        "LMPOP 2 str missing left", "LMPOP 1 missing left", "RPUSH l 1 2 3", "BLMPOP 0 9223372036854775807 a left", "BLMPOP x 1 a left",
        "BLMPOP -1 1 a left", "BLMPOP 0 1 l left COUNT 2", "BLMPOP 0 1 l left FOO", "BLMOVE l l2 left left 0", "BLMOVE l l2 up left 0",
        "BLMOVE l l2 left left x", "BLMOVE str l2 left left 0", "RPUSH l 9 8", "BLMOVE l str left left 0.1", "BRPOPLPUSH l l2 0.1",
        "BRPOPLPUSH l l2 x", "BRPOPLPUSH l l2 -1", "BLMOVE nothing l2 left left 0.05", "BLMPOP 0.05 2 none nada right",
        "BRPOPLPUSH nothing l2 0.05",
        "MULTI", "BLMOVE q w left left 0", "BLMPOP 0 1 q left", "BRPOPLPUSH q w 0", "BLPOP q 0", "LMPOP 1 q left", "RPUSH q a b c",
        "LMOVE q w right left", "LPOS q a", "LINSERT q before a z", "GETEX str PERSIST", "SETRANGE str 1 xy", "COPY q q2",
        "SMISMEMBER nothing a", "ZMSCORE nothing a", "EXEC",
        // Sets and hashes
        "SADD s1 a b c", "SADD s2 b c d", "SMOVE missing s2 a", "SMOVE missing str a", "SMOVE s1 str a", "SMOVE str s1 a",
        "SMOVE s1 s1 a", "SMOVE s1 s1 z", "SMOVE s1 s2 z", "SMOVE s1 s2 a", "SMOVE s1 s2 b", "SCARD s1", "SCARD s2",
        "SMOVE s1 new c", "EXISTS s1", "SMISMEMBER s2 a b x", "SMISMEMBER missing a", "SMISMEMBER str a", "SMISMEMBER s2",
        "SINTERCARD 1 s2", "SINTERCARD 2 s2 new", "SINTERCARD 2 s2 missing", "SINTERCARD 2 missing str", "SINTERCARD 3 s2 new",
        "SINTERCARD 0 s2", "SINTERCARD x s2", "SINTERCARD -1 s2", "SINTERCARD 1 s2 LIMIT 1", "SINTERCARD 1 s2 LIMIT 0",
        "SINTERCARD 1 s2 LIMIT -1", "SINTERCARD 1 s2 LIMIT x", "SINTERCARD 1 s2 LIMIT 1 LIMIT 2", "SINTERCARD 1 s2 LIMIT",
        "SINTERCARD 1 s2 FOO", "SINTERCARD 9223372036854775807 s2", "HSET h a 1", "HRANDFIELD h", "HRANDFIELD h 1",
        "HRANDFIELD h 1 WITHVALUES", "HRANDFIELD h -2 WITHVALUES", "HRANDFIELD h 0", "HRANDFIELD h 0 WITHVALUES", "HRANDFIELD missing",
        "HRANDFIELD missing 1", "HRANDFIELD missing 0 WITHVALUES", "HRANDFIELD str", "HRANDFIELD str 1", "HRANDFIELD h x",
        "HRANDFIELD missing x", "HRANDFIELD h 1 WITHVALUE", "HRANDFIELD h 1 WITHVALUES x", "HRANDFIELD h -9223372036854775808",
        "HRANDFIELD h 9223372036854775807 WITHVALUES", "HRANDFIELD h -4611686018427387904 WITHVALUES",
        "HRANDFIELD missing 4611686018427387904 WITHVALUES", "HRANDFIELD h 5 WITHVALUES",
        // Sorted sets
        "ZPOPMIN str 0", "ZPOPMIN missing 0", "ZPOPMIN missing", "ZPOPMIN missing -1", "ZPOPMIN missing x", "ZPOPMIN m 1 2",
        "ZADD z 1 a 2 b 3 c 4 d 5 e", "ZPOPMIN z", "ZPOPMAX z 2", "ZPOPMIN z 0", "ZPOPMAX z 9223372036854775807",
        "ZADD z 1 a 2 b 3 c 4 d 5 e", "ZADD z2 10 c 20 d 30 x", "SADD s c x y", "ZUNION 0 z", "ZUNIONSTORE d 0 z", "ZUNION 2 z",
        "ZUNION x z", "ZUNION 1 str", "ZUNION 1 z WEIGHTS", "ZUNION 1 z WEIGHTS x", "ZUNION 1 z AGGREGATE foo",
        "ZUNION 1 str AGGREGATE foo", "ZDIFF 1 z WEIGHTS 1", "ZINTERCARD 1 z LIMIT 1 WITHSCORES", "ZUNIONSTORE d 1 z WITHSCORES",
        "ZUNION 3 z z2 s WITHSCORES", "ZUNION 3 z z2 s WEIGHTS 1 2 3 WITHSCORES", "ZUNION 3 z z2 s WEIGHTS 1 2 inf AGGREGATE max WITHSCORES",
        "ZUNION 3 z z2 s WEIGHTS 1 -inf inf WITHSCORES", "ZUNION 2 z z2 AGGREGATE min WITHSCORES", "ZINTER 3 z z2 s WITHSCORES",
        "ZINTER 2 z z2 WITHSCORES", "ZINTER 2 z z2 WEIGHTS 2 0.5 AGGREGATE max WITHSCORES", "ZINTER 2 z missing WITHSCORES",
        "ZINTER 1 z WITHSCORES WITHSCORES", "ZDIFF 2 z z2 WITHSCORES", "ZDIFF 3 z z2 s", "ZDIFF 2 missing z", "ZDIFFSTORE dd 2 z z2",
        "ZRANGE dd 0 -1 WITHSCORES", "ZINTERSTORE di 2 z z2", "ZRANGE di 0 -1 WITHSCORES", "ZUNIONSTORE du 3 z z2 s",
        "ZRANGE du 0 -1 WITHSCORES", "ZINTERSTORE di 2 z missing", "EXISTS di", "ZINTERCARD 2 z z2", "ZINTERCARD 2 z z2 LIMIT 1",
        "ZINTERCARD 2 z z2 LIMIT 0", "ZINTERCARD 2 z z2 LIMIT -1", "ZINTERCARD 2 z z2 LIMIT x", "ZINTERCARD 0 z", "ZINTERCARD 3 z z2",
        "ZINTERCARD 1 str", "ZINTERCARD 2 z s", "ZRANGESTORE d z 0 -1 WITHSCORES", "ZRANGESTORE d missing 0 -1",
        "ZRANGESTORE d str 0 -1", "ZRANGESTORE d z 1 2", "ZRANGE d 0 -1 WITHSCORES", "ZRANGESTORE d z (1 4 BYSCORE LIMIT 1 1",
        "ZRANGE d 0 -1 WITHSCORES", "ZRANGESTORE d z 5 1 BYSCORE REV", "ZRANGESTORE d z 0 0 BYLEX", "ZRANDMEMBER missing",
        "ZRANDMEMBER missing 1", "ZRANDMEMBER z 1 WITHSCORES x", "ZRANDMEMBER z -9223372036854775808",
        "ZRANDMEMBER z 9223372036854775807 WITHSCORES", "ZRANDMEMBER z x", "ZRANDMEMBER str", "ZADD one 7 only", "ZRANDMEMBER one",
        "ZRANDMEMBER one 3 WITHSCORES", "ZRANDMEMBER one -2 WITHSCORES", "ZRANDMEMBER one 0", "ZMSCORE missing a b", "ZMSCORE str a",
        "ZMSCORE z a x e", "ZREMRANGEBYRANK missing x 1", "ZREMRANGEBYSCORE z a b", "ZREMRANGEBYLEX z a b", "ZREMRANGEBYRANK str 0 1",
        "ZREMRANGEBYRANK z 1 2", "ZRANGE z 0 -1 WITHSCORES", "ZREMRANGEBYRANK z -9223372036854775808 9223372036854775807", "EXISTS z",
        "ZADD z 1 a 2 b 3 c 4 d 5 e", "ZREMRANGEBYSCORE z (2 4", "ZREMRANGEBYSCORE z -inf +inf", "ZADD lx 0 a 0 b 0 c 0 d",
        "ZREMRANGEBYLEX lx (a [c", "ZRANGE lx 0 -1", "ZREMRANGEBYLEX lx - +", "EXISTS lx", "ZREMRANGEBYLEX missing - +",
        "ZRANGE z x 1", "ZRANGE str x 1", "INCRBY n 007", "INCRBY n +5", "INCRBY n -0",
    ].map(words)

    /// Splits a line into words; '' is an empty word.
    static func words(_ line: String) -> [String] {
        line.split(separator: " ").map { $0 == "''" ? "" : String($0) }
    }

    /// Replies that are random by design: compared by their shape only.
    static let random: Set<String> = ["SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER", "RANDOMKEY", "SPOP"]
    /// Replies whose order is the hash table's: compared as sorted elements (pairs for HGETALL).
    static let unordered: Set<String> = ["SMEMBERS", "SINTER", "SUNION", "SDIFF", "HKEYS", "HVALS", "HGETALL", "KEYS"]

    /// Whether two replies to `command` are the same as far as Redis promises.
    static func same(_ command: [String], _ ours: [UInt8], _ theirs: [UInt8]) -> Bool {
        let name = command[0].uppercased()
        if random.contains(name) { return shape(ours) == shape(theirs) }
        if unordered.contains(name) { return sortedElements(ours, pairs: name == "HGETALL") == sortedElements(theirs, pairs: name == "HGETALL") }
        if name == "TTL", let a = integer(ours), let b = integer(theirs) { return abs(a - b) <= 1 }   // a second's boundary may fall between them
        if timed(command) { return sameButTimes(ours, theirs) }
        return ours == theirs
    }

    static func integer(_ reply: [UInt8]) -> Int? {
        guard reply.first == UInt8(ascii: ":") else { return nil }
        return Int(String(decoding: reply.dropFirst().prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self))
    }

    /// The kind of reply and, for an array, its length; a bulk string only as null or not.
    static func shape(_ reply: [UInt8]) -> String {
        let header = String(decoding: reply.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        switch reply.first {
        case UInt8(ascii: "$"): return header == "$-1" ? "null" : "bulk"
        case UInt8(ascii: "-"): return header
        default: return header.hasPrefix("*") ? header : "other \(header)"
        }
    }

    static func sortedElements(_ reply: [UInt8], pairs: Bool) -> [[UInt8]] {
        // An array, or RESP3's set or map (its header says which; the elements are compared).
        guard let kind = reply.first, [UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: "%")].contains(kind),
              let newline = reply.firstIndex(of: UInt8(ascii: "\n")) else { return [reply] }
        var elements: [[UInt8]] = []
        var position = newline + 1
        while let end = DataStoreSafetyTests.Connection.end(of: reply, from: position) {
            elements.append(Array(reply[position..<end]))
            position = end
        }
        guard pairs else { return [[kind]] + elements.sorted { $0.lexicographicallyPrecedes($1) } }
        return [[kind]] + stride(from: 0, to: elements.count - 1, by: 2).map { elements[$0] + elements[$0 + 1] }.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
