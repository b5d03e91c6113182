import Foundation

/// Streams and the blocking sorted-set pops, for DataStoreParityTests: the fixed edge
/// cases, and which replies hold times (idle, delivery and seen times) that two stores
/// asked a millisecond apart may give differently.
extension ParityCommands {
    /// Each group is sent to a fresh pair of stores (after FLUSHALL), in order.
    static let streams: [[String]] = [
        // Adding, ranges, trimming, deleting; IDs at and past their limits.
        "FLUSHALL",
        "XADD s 1-1 f v", "XADD s 1-1 f v", "XADD s 1-* a b", "XADD s 1-* a b c", "XADD s 0-0 f v", "XADD s2 0-* f v",
        "XADD s 18446744073709551615-18446744073709551615 f v", "XADD s 5-5 f v", "XADD s 18446744073709551615-* f v", "XLEN s",
        "XRANGE s - +", "XRANGE s - + COUNT -1", "XRANGE s - + COUNT 0", "XRANGE s - + COUNT 1", "XRANGE s (1-1 +",
        "XRANGE s (18446744073709551615-18446744073709551615 +", "XRANGE s - (0-0", "XRANGE s - (0", "XRANGE s 1 1",
        "XRANGE s x +", "XRANGE s - + COUNT", "XRANGE s - + FOO 1", "XRANGE s - + COUNT x", "XREVRANGE s + -",
        "XREVRANGE s + - COUNT 2", "XREVRANGE s (5-5 -", "XRANGE missing - +", "SET str x", "XRANGE str - +", "XADD str * f v",
        "XLEN str", "XADD new NOMKSTREAM * f v", "EXISTS new", "XADD s MAXLEN", "XADD s MAXLEN 1", "XADD s MAXLEN -1 * f v",
        "XADD s MAXLEN x * f v", "XADD s MINID ~ 0 MAXLEN 1 * f v", "XADD s LIMIT 10 * f v", "XADD s LIMIT 0 * f v",
        "XADD s MAXLEN 10 LIMIT 10 * f v", "XADD s MAXLEN ~ 10 LIMIT -1 * f v", "XADD s - f v", "XADD s + f v", "XADD s 007 f v",
        "XADD t 1 a 1", "XADD t 2 a 2 b 3", "XADD t 3 b 3", "XADD t MAXLEN = 2 4 c 4", "XRANGE t - +", "XADD t MINID 4 5 c 5",
        "XRANGE t - +", "XTRIM t MAXLEN 0", "XTRIM t", "XTRIM t FOO", "XTRIM t MAXLEN", "XTRIM missing MAXLEN 0",
        "XTRIM str MAXLEN 0", "XTRIM t MAXLEN ~ 0 LIMIT 1", "XTRIM t LIMIT 1", "XDEL s 1-1 5-5 9-9", "XDEL s x", "XDEL missing x",
        "XDEL str 1", "XLEN s", "XINFO STREAM s", "XINFO STREAM t", "XADD ids 18446744073709551615-18446744073709551615 f v",
        "XADD ids * f v", "XADD ids2 18446744073709551615-18446744073709551614 f v", "XADD ids2 18446744073709551615-* f v",
        "XADD ids2 18446744073709551615-* f v", "XADD ids3 -05-1 f v", "XADD ids3 1--05 f v",
        "XADD ids3 18446744073709551616-1 f v", "XADD ids3 +5-1 f v", "XRANGE ids3 - +",
        "OBJECT ENCODING s", "TYPE s", "SCAN 0 MATCH ids3 TYPE stream", "SCAN 0 MATCH ids* TYPE STRING COUNT 100", "SCAN 0 TYPE string",
        "HSCAN s 0 TYPE x",
        // Consumer groups: reading, pending entries, claiming, and every error on the way.
        "FLUSHALL",
        "XGROUP", "XGROUP FOO", "xgroup foo", "XGROUP CREATE s", "XGROUP CREATE s g", "XGROUP CREATE s g $", "XGROUP HELP",
        "XGROUP HELP x", "XGROUP CREATE s g $ MKSTREAM", "XGROUP CREATE s g $ MKSTREAM", "XGROUP CREATE s g2 0 ENTRIESREAD -2",
        "XGROUP CREATE s g2 0 ENTRIESREAD x", "XGROUP CREATE s g2 0 ENTRIESREAD", "XGROUP CREATE s g2 0 FOO",
        "XGROUP CREATE s g2 -", "XGROUP CREATE s g2 0 ENTRIESREAD 5", "XADD s 1-1 a 1", "XADD s 2-1 b 2", "XADD s 3-1 c 3",
        "XINFO GROUPS s", "XREADGROUP GROUP g c1 COUNT 1 STREAMS s >", "XREADGROUP GROUP g c1 STREAMS s >",
        "XREADGROUP GROUP g c1 STREAMS s >", "XREADGROUP GROUP g c2 STREAMS s 0", "XREADGROUP GROUP g c1 STREAMS s 0",
        "XREADGROUP GROUP g c1 STREAMS s 1-1", "XREADGROUP GROUP g c1 COUNT 1 STREAMS s 0", "XREADGROUP GROUP g c1 STREAMS s $",
        "XREAD GROUP g c1 STREAMS s 0", "XREAD NOACK STREAMS s 0", "XREAD STREAMS s >", "XREADGROUP STREAMS s 0",
        "XREADGROUP GROUP g STREAMS s 0", "XREADGROUP GROUP nog c STREAMS s 0", "XREADGROUP GROUP g c STREAMS missing 0",
        "XREADGROUP GROUP g c STREAMS s", "XREAD STREAMS s 0 x", "XREAD COUNT 1 STREAMS s 0", "XREAD COUNT -1 STREAMS s 0",
        "XREAD STREAMS s t 0 0", "XREAD STREAMS s $", "XREAD FOO STREAMS s $", "XREAD STREAMS s -", "XREAD STREAMS s 1",
        "XREAD BLOCK 0 STREAMS s 0", "SET str v", "XREAD STREAMS str 0", "XREAD STREAMS s str 0 0", "XINFO GROUPS s",
        "XPENDING s g", "XPENDING s g - + 10", "XPENDING s g - + 10 c1", "XPENDING s g - + 10 c9", "XPENDING s g IDLE 0 - + 10",
        "XPENDING s g IDLE x - + 10", "XPENDING s g IDLE 0 - +", "XPENDING s g - + x", "XPENDING s g x + 10",
        "XPENDING s g (1-1 + 10", "XPENDING s g - + 10 c1 extra", "XPENDING s g - + 10 c1 extra extra2", "XPENDING s g -",
        "XPENDING s nog", "XPENDING missing g", "XPENDING str g", "XACK s g 1-1 x", "XACK s g 1-1 9-9", "XACK s nog 1-1",
        "XACK missing g x", "XACK str g 1", "XPENDING s g", "XDEL s 2-1", "XREADGROUP GROUP g c1 STREAMS s 0",
        "XCLAIM s g c3 0 2-1 3-1", "XPENDING s g", "XREADGROUP GROUP g c2 STREAMS s 0", "XCLAIM s g c3 0 3-1 JUSTID",
        "XCLAIM s g c3 0 3-1 RETRYCOUNT 7", "XPENDING s g - + 10", "XCLAIM s g c3 x 3-1", "XCLAIM s g c3 0 3-1 FOO",
        "XCLAIM s g c3 0 3-1 IDLE x", "XCLAIM s g c3 0 3-1 TIME x", "XCLAIM s g c3 0 3-1 RETRYCOUNT x",
        "XCLAIM s g c3 0 3-1 LASTID x", "XCLAIM s g c3 0 x", "XCLAIM s nog c3 0 1", "XCLAIM s g c4 0 1-1 FORCE",
        "XPENDING s g - + 10", "XCLAIM s g c4 0 1-1 FORCE JUSTID LASTID 9-9", "XINFO GROUPS s", "XCLAIM s g c4 3600000 1-1",
        "XAUTOCLAIM s g c5 0 0", "XAUTOCLAIM s g c5 0 0 COUNT 1", "XAUTOCLAIM s g c5 0 0 COUNT 0", "XAUTOCLAIM s g c5 0 0 COUNT x",
        "XAUTOCLAIM s g c5 0 0 COUNT 576460752303423488", "XAUTOCLAIM s g c5 0 0 JUSTID", "XAUTOCLAIM s g c5 x 0",
        "XAUTOCLAIM s g c5 0 x", "XAUTOCLAIM s g c5 0 0 FOO", "XAUTOCLAIM s nog c5 0 0", "XAUTOCLAIM missing g c5 0 0",
        "XAUTOCLAIM s g c5 0 (18446744073709551615-18446744073709551615", "XINFO CONSUMERS s g", "XINFO CONSUMERS s nog",
        "XINFO CONSUMERS missing g", "XINFO GROUPS str", "XINFO", "XINFO HELP", "XINFO FOO s", "XINFO STREAM s FOO",
        "XINFO STREAM s FULL COUNT", "XINFO STREAM s FULL x 1", "XINFO STREAM s FULL COUNT x", "XGROUP CREATECONSUMER s g c9",
        "XGROUP CREATECONSUMER s g c9", "XGROUP CREATECONSUMER s nog c9", "XGROUP DELCONSUMER s g c5", "XGROUP DELCONSUMER s g c5",
        "XGROUP SETID s g 0", "XGROUP SETID s g $ ENTRIESREAD 3", "XGROUP SETID s g -", "XGROUP SETID s g + ENTRIESREAD 1",
        "XGROUP SETID s g + ENTRIESREAD", "XGROUP SETID s nog 0", "XGROUP SETID missing g 0", "XINFO GROUPS s",
        "XGROUP DESTROY s g", "XGROUP DESTROY s g", "XGROUP DESTROY missing g", "XGROUP FOO s g",
        "XGROUP CREATE s g 0 MKSTREAM ENTRIESREAD 1 x", "XGROUP CREATE s g 0 MKSTREAM MKSTREAM ENTRIESREAD 1", "XSETID s 1",
        "XSETID s 100-0", "XSETID s 100-0 ENTRIESADDED 0", "XSETID s 100-0 ENTRIESADDED -1", "XSETID s 100-0 MAXDELETEDID 200-0",
        "XSETID s 100-0 MAXDELETEDID 50-0 ENTRIESADDED 10", "XSETID s 100-0 FOO", "XSETID missing 1", "XINFO STREAM s",
        "XGROUP CREATE e g $ MKSTREAM", "XINFO STREAM e", "XINFO GROUPS e", "XADD e 1-1 f v", "XINFO GROUPS e",
        "XREADGROUP GROUP g c NOACK STREAMS e >", "XINFO GROUPS e", "XPENDING e g",
        // ZMPOP and the blocking pops that answer at once (or in a transaction).
        "FLUSHALL",
        "ZADD z 1 a 2 b 3 c", "ZMPOP 1 z MIN", "ZMPOP 1 z MAX COUNT 5", "ZMPOP 1 z MAX COUNT 5", "ZMPOP 0 z MIN",
        "ZMPOP 9223372036854775807 z MIN", "ZMPOP 1 z FOO", "ZMPOP 1 z MIN COUNT 0", "ZMPOP 1 z MIN COUNT 1 COUNT 2",
        "ZMPOP 2 missing z MIN", "SET str x", "ZMPOP 2 str z MIN", "ZADD z 1 a 2 b 3 c", "BZPOPMIN z 0", "BZPOPMAX z 0",
        "BZPOPMIN missing z 0", "BZPOPMIN z 9223372036854775807", "BZPOPMIN z -1", "BZPOPMIN z x", "BZPOPMIN z inf",
        "BZPOPMIN str 0", "ZADD z 5 e 6 f", "BZMPOP 0 1 z MIN COUNT 10", "BZMPOP 0.01 1 z MIN", "BZPOPMIN z 0.01",
        "BZMPOP x 1 z MIN", "BZMPOP 0 1 z MIDDLE", "BZMPOP 0 0 z MIN", "MULTI", "BZPOPMIN z 0", "BZMPOP 0 1 z MIN",
        "XREAD BLOCK 0 STREAMS s $", "ZADD z 1 a", "BZPOPMIN z 0", "EXEC", "XREAD BLOCK -1 STREAMS s $",
        "XREAD BLOCK x STREAMS s $", "XREAD BLOCK 9223372036854775807 COUNT x STREAMS s $", "XREAD BLOCK 10 STREAMS s $",
        "XADD s 1-1 f v", "XREAD BLOCK 10 STREAMS s 0", "ZADD z 1 a 2 b", "OBJECT ENCODING z",
        // Entries read and lag around tombstones, XSETID, claims by time, ranges by partial IDs.
        "FLUSHALL",
        "XADD s 1-1 f v f v2 '' x", "XADD s 2-1 a 1 b 2 c 3 d 4 e 5 f 6 g 7", "XRANGE s - +", "XGROUP CREATE s g 0 ENTRIESREAD 1",
        "XINFO GROUPS s", "XREADGROUP GROUP g c STREAMS s >", "XINFO GROUPS s", "XADD s 3-1 x y", "XADD s 4-1 x y", "XDEL s 3-1",
        "XINFO GROUPS s", "XINFO STREAM s", "XREADGROUP GROUP g c COUNT 1 STREAMS s >", "XINFO GROUPS s", "XGROUP CREATE s g2 0",
        "XINFO GROUPS s", "XREADGROUP GROUP g2 c STREAMS s >", "XINFO GROUPS s", "XSETID s 10-0 ENTRIESADDED 50 MAXDELETEDID 5-0",
        "XINFO GROUPS s", "XINFO STREAM s", "XGROUP CREATE s g3 $", "XINFO GROUPS s", "XGROUP SETID s g3 2-1 ENTRIESREAD 2",
        "XINFO GROUPS s", "XADD s 11-1 k v", "XREADGROUP GROUP g3 c STREAMS s >", "XINFO GROUPS s", "XCLAIM s g d 0 1-1 TIME 1",
        "XCLAIM s g d 0 2-1 TIME 99999999999999", "XCLAIM s g d 0 4-1 IDLE 100000", "XPENDING s g IDLE 50000 - + 10",
        "XCLAIM s g e 60000 4-1 JUSTID", "XCLAIM s g e 200000 4-1 JUSTID", "XAUTOCLAIM s g f 50000 0 COUNT 1",
        "XAUTOCLAIM s g f 0 0 COUNT 1", "XAUTOCLAIM s g f 0 (2-1 COUNT 10 JUSTID", "XRANGE s 18446744073709551615 +",
        "XRANGE s - 4", "XRANGE s 2 4", "XREVRANGE s 4 2", "XREVRANGE s (4 (1", "XRANGE s (1 (4",
        "XREAD STREAMS s 18446744073709551615-18446744073709551615",
        "XREADGROUP GROUP g c STREAMS s 18446744073709551615-18446744073709551614", "XADD k:1 1-1 f v",
        "XREADGROUP GROUP nope c STREAMS k:1 >", "XGROUP CREATE s g $", "XINFO CONSUMERS s g",
        "XREADGROUP GROUP g c NOACK STREAMS s 0", "XPENDING s g - + 10 c", "XACK s g 1-1 2-1 4-1 11-1", "XGROUP DELCONSUMER s g c",
        "XINFO CONSUMERS s g", "XDEL s 1-1 2-1 4-1 11-1", "XLEN s", "XINFO STREAM s", "XADD s MAXLEN 0 12-1 a b", "XINFO STREAM s",
        "XTRIM s MINID 100", "XRANGE s - +", "XREADGROUP GROUP g c STREAMS s >", "XINFO GROUPS s",
        // WATCH sees entries added and removed and a stream made, not a group's reads, acks or claims.
        "FLUSHALL",
        "XADD s 1-1 f v", "XGROUP CREATE s g 0", "WATCH s", "XREADGROUP GROUP g c STREAMS s >", "XACK s g 1-1",
        "XGROUP CREATECONSUMER s g c2", "XGROUP SETID s g 0", "XCLAIM s g c3 0 1-1", "XSETID s 5-0", "XDEL s 9-9",
        "XTRIM s MAXLEN 5", "XINFO STREAM s", "MULTI", "XLEN s", "EXEC", "WATCH s", "XDEL s 1-1", "MULTI", "XLEN s", "EXEC",
        "WATCH s", "XGROUP DESTROY s g", "XGROUP CREATE s g2 0", "MULTI", "XLEN s", "EXEC", "WATCH n",
        "XGROUP CREATE n g $ MKSTREAM", "MULTI", "XLEN n", "EXEC", "WATCH s", "XADD s 1-1 f v", "MULTI", "XLEN s", "EXEC",
        // Nodes: 100 entries or about 4 KB each; `~` trims whole nodes; XINFO counts them.
        "FLUSHALL",
    ].map(words) + nodes

    /// Streams long enough to fill nodes, by count and by size, then trimmed.
    static let nodes: [[String]] = {
        var commands = (1...250).map { ["XADD", "s", "\($0)-1", "f", "\($0)"] }
        commands += [["XINFO", "STREAM", "s"], ["XTRIM", "s", "MAXLEN", "~", "120"], ["XTRIM", "s", "MAXLEN", "~", "120", "LIMIT", "50"],
                     ["XTRIM", "s", "MINID", "~", "180"], ["XDEL", "s", "201-1", "202-1"], ["XTRIM", "s", "MINID", "203"], ["XINFO", "STREAM", "s"]]
        commands += (1..<100).map { ["XADD", "b", "\($0)-1", "field\($0 % 3)", String(repeating: "x", count: $0 * 7 % 300), "other", "value\($0)"] }
        commands += [["XINFO", "STREAM", "b"], ["XTRIM", "b", "MAXLEN", "~", "50"], ["XINFO", "STREAM", "b", "FULL", "COUNT", "2"]]
        commands += (1..<150).map { ["XADD", "d", "\($0 * 100_000_000_000)-\($0 * 9_999_999_999)", "f", "\(-$0 * 1000)"] }
        commands += [["XINFO", "STREAM", "d"], ["XTRIM", "d", "MAXLEN", "~", "1"], ["XINFO", "STREAM", "d"]]
        return commands
    }()

    /// Replies holding times: compared with every integer allowed to differ by a second.
    static func timed(_ command: [String]) -> Bool {
        let name = command[0].uppercased()
        if name == "XPENDING" { return command.count > 3 }
        return name == "XINFO" && (command.count > 1 && ["CONSUMERS", "STREAM"].contains(command[1].uppercased()))
    }

    /// The same lines, save integers (":n") that differ by at most 1000 (milliseconds).
    static func sameButTimes(_ ours: [UInt8], _ theirs: [UInt8]) -> Bool {
        let (a, b) = (ours.split(separator: UInt8(ascii: "\n")), theirs.split(separator: UInt8(ascii: "\n")))
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            guard x != y else { return true }
            guard let m = integer(Array(x) + [10]), let n = integer(Array(y) + [10]) else { return false }
            return abs(m - n) <= 1000
        }
    }
}
