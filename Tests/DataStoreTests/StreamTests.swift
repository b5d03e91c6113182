@testable import DataStore
import Foundation
import TestSupport
import Testing

/// Streams, consumer groups and the blocking sorted-set pops against a store in
/// memory, as a connection runs them. DataStoreParityTests compares them with
/// redis-server at their edges and in random sequences.
@Suite(.blockingAllowed) struct StreamTests {
    typealias Client = CommandTests.Client
    let store = Store()

    static func entry(_ id: String, _ fields: String...) -> RESPValue { .array([.bulk(id), .array(fields.map(RESPValue.bulk))]) }
    static let notGreater = RESPValue.error("ERR The ID specified in XADD is equal or smaller than the target stream top item")

    @Test func idsAreGivenExplicitlyPartlyOrByTheClock() {
        let client = Client(store)
        #expect(client.run("XADD", "s", "1-1", "f", "v") == .bulk("1-1"))
        #expect(client.run("XADD", "s", "1-1", "f", "v") == Self.notGreater)
        #expect(client.run("XADD", "s", "1-*", "f", "v") == .bulk("1-2"))
        #expect(client.run("XADD", "s", "5", "f", "v") == .bulk("5-0"))
        #expect(client.run("XADD", "s", "0-0", "f", "v") == .error("ERR The ID specified in XADD must be greater than 0-0"))
        #expect(client.run("XADD", "s", "-", "f", "v") == .error("ERR Invalid stream ID specified as stream command argument"))
        #expect(client.run("XADD", "s", "1-1", "f") == .error("ERR wrong number of arguments for 'xadd' command"))
        guard case .bulkString(let auto?) = client.run("XADD", "s", "*", "f", "v"), let ms = UInt64(auto.text.split(separator: "-")[0]) else {
            Issue.record("no automatic ID")
            return
        }
        #expect(ms >= UInt64(Store.now() - 1000))
        #expect(client.run("XADD", "s", "18446744073709551615-18446744073709551615", "f", "v") == .bulk("18446744073709551615-18446744073709551615"))
        #expect(client.run("XADD", "s", "*", "f", "v")
            == .error("ERR The stream has exhausted the last possible ID, unable to add more items"))
        #expect(client.run("XADD", "s", "18446744073709551616-1", "f", "v") == .error("ERR Invalid stream ID specified as stream command argument"))
        #expect(client.run("XADD", "missing", "NOMKSTREAM", "*", "f", "v") == .null)
        #expect(client.run("EXISTS", "missing") == .integer(0))
        #expect(client.run("XLEN", "s") == .integer(5))
        #expect(client.run("TYPE", "s") == .simpleString("stream"))
        #expect(client.run("OBJECT", "ENCODING", "s") == .bulk("stream"))
        client.run("SET", "str", "x")
        #expect(client.run("XADD", "str", "*", "f", "v") == NewCommandTests.wrongType)
    }

    @Test func rangesTakeBoundsCountsAndExclusiveIDs() {
        let client = Client(store)
        for id in ["1-1", "2-1", "3-1", "3-2"] { client.run("XADD", "s", id, "k", id) }
        #expect(client.run("XRANGE", "s", "(1-1", "3") == .array([Self.entry("2-1", "k", "2-1"), Self.entry("3-1", "k", "3-1"), Self.entry("3-2", "k", "3-2")]))
        #expect(client.run("XREVRANGE", "s", "+", "-", "COUNT", "1") == .array([Self.entry("3-2", "k", "3-2")]))
        #expect(client.run("XRANGE", "s", "-", "+", "COUNT", "-1") == .array(nil))
        #expect(client.run("XRANGE", "s", "-", "(0-0") == .error("ERR invalid end ID for the interval"))
        #expect(client.run("XRANGE", "s", "(18446744073709551615-18446744073709551615", "+") == .error("ERR invalid start ID for the interval"))
        #expect(client.run("XRANGE", "s", "-", "+", "COUNT") == .error("ERR syntax error"))
        #expect(client.run("XRANGE", "missing", "-", "+") == .array([]))
        #expect(client.run("XDEL", "s", "2-1", "9-9") == .integer(1))
        #expect(client.run("XDEL", "s", "x") == .error("ERR Invalid stream ID specified as stream command argument"))
        #expect(NewCommandTests.length(client.run("XRANGE", "s", "-", "+")) == 3)
    }

    @Test func approximateTrimmingRemovesWholeNodesOnly() {
        let client = Client(store)
        for index in 1...250 { client.run("XADD", "s", "\(index)-1", "f", "\(index)") }
        #expect(client.run("XTRIM", "s", "MAXLEN", "~", "120") == .integer(100))
        #expect(client.run("XTRIM", "s", "MAXLEN", "~", "120", "LIMIT", "50") == .integer(0))
        #expect(client.run("XTRIM", "s", "MAXLEN", "=", "120") == .integer(30))
        #expect(client.run("XTRIM", "s", "MINID", "200") == .integer(69))
        #expect(client.run("XRANGE", "s", "-", "+", "COUNT", "1") == .array([Self.entry("200-1", "f", "200")]))
        #expect(client.run("XTRIM", "s", "LIMIT", "1") == .error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"))
        #expect(client.run("XTRIM", "s", "LIMIT", "0") == .error("ERR syntax error, XTRIM must be called with a trimming strategy"))
        #expect(client.run("XTRIM", "s", "MAXLEN", "1", "LIMIT", "1") == .error("ERR syntax error, LIMIT cannot be used without the special ~ option"))
        #expect(client.run("XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "f", "v")
            == .error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible"))
        #expect(client.run("XADD", "s", "MAXLEN", "2", "999-1", "f", "v") == .bulk("999-1"))
        #expect(client.run("XLEN", "s") == .integer(2))
    }

    @Test func groupsDeliverAcknowledgeAndHandOver() {
        let client = Client(store)
        #expect(client.run("XGROUP", "CREATE", "s", "g", "$")
            == .error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."))
        #expect(client.run("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM") == .ok)
        #expect(client.run("XGROUP", "CREATE", "s", "g", "$") == .error("BUSYGROUP Consumer Group name already exists"))
        client.run("XADD", "s", "1-1", "a", "1")
        client.run("XADD", "s", "2-1", "b", "2")
        #expect(client.run("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", ">")
            == .array([.array([.bulk("s"), .array([Self.entry("1-1", "a", "1")])])]))
        #expect(client.run("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">")
            == .array([.array([.bulk("s"), .array([Self.entry("2-1", "b", "2")])])]))
        #expect(client.run("XPENDING", "s", "g")
            == .array([.integer(2), .bulk("1-1"), .bulk("2-1"), .array([.array([.bulk("alice"), .bulk("1")]), .array([.bulk("bob"), .bulk("1")])])]))
        #expect(client.run("XCLAIM", "s", "g", "bob", "0", "1-1", "JUSTID") == .array([.bulk("1-1")]))
        #expect(client.run("XACK", "s", "g", "2-1", "2-1") == .integer(1))
        client.run("XDEL", "s", "1-1")
        #expect(client.run("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0") == .array([.array([.bulk("s"), .array([.array([.bulk("1-1"), .array(nil)])])])]))
        #expect(client.run("XAUTOCLAIM", "s", "g", "carol", "0", "0") == .array([.bulk("0-0"), .array([]), .array([.bulk("1-1")])]))
        #expect(client.run("XPENDING", "s", "g") == .array([.integer(0), .null, .null, .array(nil)]))
        #expect(client.run("XGROUP", "DELCONSUMER", "s", "g", "alice") == .integer(0))
        #expect(client.run("XINFO", "GROUPS", "s") == .array([.array([.bulk("name"), .bulk("g"), .bulk("consumers"), .integer(1),
            .bulk("pending"), .integer(0), .bulk("last-delivered-id"), .bulk("2-1"), .bulk("entries-read"), .integer(2), .bulk("lag"), .integer(0)])]))
        #expect(client.run("XREADGROUP", "GROUP", "nope", "c", "STREAMS", "s", ">")
            == .error("NOGROUP No such key 's' or consumer group 'nope' in XREADGROUP with GROUP option"))
    }

    @Test func watchSeesEntriesChangeButNotAGroupsBookkeeping() {
        let client = Client(store), other = Client(store, id: 2)
        client.run("XADD", "s", "1-1", "f", "v")
        client.run("XGROUP", "CREATE", "s", "g", "0")
        client.run("WATCH", "s")
        other.run("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
        other.run("XACK", "s", "g", "1-1")
        other.run("XDEL", "s", "9-9")
        client.run("MULTI")
        client.run("XLEN", "s")
        #expect(client.run("EXEC") == .array([.integer(1)]))
        client.run("WATCH", "s")
        other.run("XDEL", "s", "1-1")
        client.run("MULTI")
        client.run("XLEN", "s")
        #expect(client.run("EXEC") == .array(nil))
    }

    @Test func blockedReadersWakeWhenTheirKeyGetsData() {
        let reader = Client(store, id: 1), popper = Client(store, id: 2), writer = Client(store, id: 3)
        var timeouts: [() -> Void] = []
        for client in [reader, popper] {
            client.session.scheduleTimeout = { _, action in timeouts.append(action) }
            client.session.resume = {}
        }
        #expect(reader.all("XREAD", "BLOCK", "0", "STREAMS", "s", "$").isEmpty)
        #expect(popper.all("BZPOPMIN", "z", "0").isEmpty)
        writer.run("MULTI")
        writer.run("XADD", "s", "1-1", "f", "v")
        writer.run("ZADD", "z", "2", "m")
        #expect(reader.pushed.isEmpty && popper.pushed.isEmpty, "nothing is served before EXEC")
        writer.run("EXEC")
        #expect(reader.pushed == [.array([.array([.bulk("s"), .array([Self.entry("1-1", "f", "v")])])])])
        #expect(popper.pushed == [.array([.bulk("z"), .bulk("m"), .bulk("2")])])
        writer.run("XGROUP", "CREATE", "s", "g", "$")
        #expect(reader.all("XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "s", ">").isEmpty)
        writer.run("XGROUP", "DESTROY", "s", "g")
        #expect(reader.pushed.last == .error("NOGROUP the consumer group this client was blocked on no longer exists"))
        #expect(popper.all("BZMPOP", "1", "2", "a", "b", "MAX").isEmpty)
        writer.run("RPUSH", "b", "not a sorted set")
        #expect(popper.session.blocked != nil, "a list does not serve a sorted-set pop")
        timeouts.last?()
        #expect(popper.pushed.last == .array(nil))
        #expect(store.waiters.isEmpty, "served and timed-out clients leave every key they waited on")
    }

    @Test func onlyNewEntriesOrAGroupGoneWakeAReader() {
        let reader = Client(store, id: 1), writer = Client(store, id: 2)
        reader.session.scheduleTimeout = { _, _ in }
        reader.session.resume = {}
        writer.run("XADD", "s", "5-0", "f", "v")
        writer.run("XGROUP", "CREATE", "s", "g", "$")
        #expect(reader.all("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">").isEmpty)
        for command in [["XSETID", "s", "10-0"], ["XGROUP", "SETID", "s", "g", "0"], ["XDEL", "s", "5-0"], ["XGROUP", "CREATECONSUMER", "s", "g", "d"]] {
            _ = writer.session.execute(command.map { Array($0.utf8) })
        }
        #expect(reader.pushed.isEmpty, "Redis 7.0 wakes stream readers on XADD, XGROUP DESTROY and the key's creation or removal only")
        writer.run("XADD", "s", "11-0", "f", "w")
        #expect(reader.pushed == [.array([.array([.bulk("s"), .array([Self.entry("11-0", "f", "w")])])])])
    }

    @Test func hostileNumbersAreRefusedNotTrapped() {
        let client = Client(store)
        client.run("XADD", "s", "1-1", "f", "v")
        client.run("XGROUP", "CREATE", "s", "g", "0")
        client.run("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
        let replies = [
            client.run("XADD", "s", "MAXLEN", "9223372036854775808", "*", "f", "v"),
            client.run("XTRIM", "s", "MAXLEN", "~", "9223372036854775807", "LIMIT", "9223372036854775807"),
            client.run("XRANGE", "s", "-", "+", "COUNT", "9223372036854775807"),
            client.run("XREAD", "COUNT", "-9223372036854775808", "BLOCK", "9223372036854775807", "STREAMS", "s", "0"),
            client.run("XPENDING", "s", "g", "IDLE", "-9223372036854775808", "-", "+", "9223372036854775807"),
            client.run("XCLAIM", "s", "g", "d", "-9223372036854775808", "1-1", "IDLE", "-9223372036854775808", "RETRYCOUNT", "9223372036854775807"),
            client.run("XAUTOCLAIM", "s", "g", "d", "9223372036854775807", "0", "COUNT", "576460752303423487"),
            client.run("XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "9223372036854775807"),
            client.run("XINFO", "STREAM", "s", "FULL", "COUNT", "9223372036854775807"),
            client.run("XSETID", "s", "18446744073709551615-18446744073709551615", "ENTRIESADDED", "9223372036854775807"),
            client.run("BZPOPMIN", "z", "9223372036854775807"),
            client.run("ZMPOP", "9223372036854775807", "z", "MIN"),
            client.run("BZMPOP", "0", "1", "z", "MIN", "COUNT", "9223372036854775807"),
        ]
        #expect(replies[0] == .error("ERR value is not an integer or out of range"))
        #expect(replies[10] == .error("ERR timeout is negative"))
        #expect(replies[11] == .error("ERR syntax error"))
        #expect(client.run("XINFO", "GROUPS", "s") != .null)
    }

    @Test func snapshotsKeepStreamsAndOlderSnapshotsStillLoad() throws {
        let client = Client(store)
        for index in 1...150 { client.run("XADD", "s", "\(index)-1", "f", "\(index)") }
        client.run("XDEL", "s", "2-1")
        client.run("XGROUP", "CREATE", "s", "g", "0")
        client.run("XREADGROUP", "GROUP", "g", "c", "COUNT", "3", "STREAMS", "s", ">")
        client.run("EXPIRE", "s", "1000")
        let restored = Store()
        try Snapshot.decode(Snapshot.encode(store), into: restored)
        let reader = Client(restored)
        for command in [["XINFO", "STREAM", "s"], ["XINFO", "GROUPS", "s"], ["XPENDING", "s", "g"], ["XRANGE", "s", "-", "+"], ["TTL", "s"]] {
            #expect(reader.session.execute(command.map { Array($0.utf8) }) == client.session.execute(command.map { Array($0.utf8) }))
        }
        // A snapshot written before streams existed: one string, "k" = "v".
        let old: [UInt8] = Array("PULSEDS1".utf8) + [0xFE, 0, 0] + [UInt8](repeating: 0xFF, count: 8) + [0, 0, 0, 1] + Array("k".utf8)
            + [0, 0, 0, 1] + Array("v".utf8) + [0xFF]
        let older = Store()
        try Snapshot.decode(old, into: older)
        #expect(Client(older).run("GET", "k") == .bulk("v"))
    }
}
