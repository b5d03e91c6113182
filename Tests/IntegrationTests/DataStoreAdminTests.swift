import Foundation
import Glibc
import Testing

/// INFO, CLIENT and CONFIG: what tools and client libraries read and set, side by
/// side with a redis-server the test starts.
@Suite(.blockingAllowed) struct DataStoreAdminTests {
    typealias Connection = DataStoreSafetyTests.Connection

    /// Replies compared as bytes, CONFIG GET's pairs in any order.
    static let fixed: [String] = [
        "CLIENT SETNAME 'a b'", "CLIENT SETNAME worker-1", "CLIENT GETNAME", "CLIENT SETNAME ''", "CLIENT GETNAME", "CLIENT FOO",
        "CLIENT INFO extra", "CLIENT LIST TYPE foo", "CLIENT LIST ID 1 x", "CLIENT LIST ID", "CLIENT LIST FOO", "CLIENT LIST TYPE replica",
        "CLIENT LIST TYPE master", "CLIENT KILL 1.2.3.4:5", "CLIENT KILL ID 999999", "CLIENT KILL ID x", "CLIENT KILL ID 0",
        "CLIENT KILL TYPE foo", "CLIENT KILL USER bob", "CLIENT KILL SKIPME maybe", "CLIENT KILL ID 1 ADDR", "CLIENT KILL FOO bar",
        "CLIENT KILL ADDR 1.2.3.4:5 SKIPME no", "CLIENT KILL", "CLIENT UNBLOCK 999999", "CLIENT UNBLOCK 999999 ERROR",
        "CLIENT UNBLOCK 5 foo", "CLIENT UNBLOCK x", "CLIENT UNBLOCK", "CLIENT REPLY foo", "CLIENT NO-EVICT maybe",
        "CLIENT NO-EVICT on", "CLIENT NO-EVICT off", "CLIENT GETREDIR", "CLIENT ID x", "CLIENT SETNAME",
        "CONFIG", "CONFIG GET", "CONFIG SET", "CONFIG SET foo bar", "CONFIG SET databases 4", "CONFIG SET maxclients abc",
        "CONFIG SET maxclients 0", "CONFIG SET timeout -1", "CONFIG SET timeout 5 timeout 6", "CONFIG SET timeout 5 maxclients",
        "CONFIG SET appendonly maybe", "CONFIG SET appendonly no", "CONFIG SET save abc", "CONFIG SET save 10", "CONFIG SET save '60 10'",
        "CONFIG GET save", "CONFIG SET save ''", "CONFIG GET save", "CONFIG SET save '60 10 -1 5'", "CONFIG GET timeout",
        "CONFIG SET timeout 100", "CONFIG GET timeout", "CONFIG SET timeout 0 maxclients 500", "CONFIG GET maxclients",
        "CONFIG SET maxclients 10000", "CONFIG GET databases", "CONFIG GET maxmemory", "CONFIG GET maxmemory-policy",
        "CONFIG GET appendonly", "CONFIG GET nothing-matches", "CONFIG GET maxclients timeout", "CONFIG GET TIMEOUT",
        "CONFIG SET maxmemory abc", "CONFIG SET maxmemory 0", "CONFIG SET maxmemory 0mb", "CONFIG SET maxmemory-policy foo",
        "CONFIG SET maxmemory-policy noeviction", "CONFIG SET dir /tmp", "CONFIG SET dbfilename x.rdb", "CONFIG SET requirepass",
        "CONFIG REWRITE", "CONFIG REWRITE x", "CONFIG FOO", "CONFIG RESETSTAT x", "CONFIG GET requirepass",
        "INFO foo", "INFO foo bar",
        // MOVE and SWAPDB, and what WATCH makes of SWAPDB.
        "SET mk v", "MOVE mk x", "MOVE mk 16", "MOVE mk 0", "MOVE nope 1", "MOVE mk -1", "MOVE mk 4294967296", "EXPIRE mk 100",
        "MOVE mk 1", "EXISTS mk", "SELECT 1", "GET mk", "TTL mk", "SET mk other", "SELECT 0", "SET mk mine", "SELECT 1", "MOVE mk 0",
        "SELECT 0", "SWAPDB 0 x", "SWAPDB x 0", "SWAPDB 0 16", "SWAPDB -1 0", "SWAPDB 0 0", "SET a0 1", "SWAPDB 0 1", "GET a0",
        "GET mk", "SELECT 1", "GET a0", "SELECT 0", "WATCH nowhere", "SWAPDB 0 1", "MULTI", "PING", "EXEC", "WATCH a0",
        "SWAPDB 0 1", "MULTI", "PING", "EXEC", "SWAPDB 0 1 2", "MOVE mk",
    ]

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func clientAndConfigAnswerAsRedis7Does() async throws {
        let pair = try await DataStoreParityTests.Pair.start()
        defer { pair.server.shutdown() }
        let differences = try await onThread {
            try Self.fixed.compactMap { line -> String? in
                let command = Self.words(line)
                var (mine, reference) = (try pair.ours.send(command), try pair.theirs.send(command))
                if line.hasPrefix("CONFIG GET") { (mine, reference) = (Self.pairs(mine), Self.pairs(reference)) }
                return mine == reference ? nil : "\(line): ours \(mine.debugDescription), Redis \(reference.debugDescription)"
            }
        }
        #expect(differences.isEmpty, "\(differences.count) differ:\n\(differences.joined(separator: "\n"))")
    }

    /// INFO's sections are Redis's, in its order, for every way of asking; each field we
    /// give is one Redis gives in that section; the keyspace says the same.
    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func infoHasRedisSectionsAndFields() async throws {
        let pair = try await DataStoreParityTests.Pair.start()
        defer { pair.server.shutdown() }
        for asked in [[], ["all"], ["everything"], ["default"], ["keyspace", "clients"], ["CPU"], ["commandstats", "server"], ["foo"]] {
            let (mine, reference) = try await onThread {
                (try pair.ours.send(["INFO"] + asked), try pair.theirs.send(["INFO"] + asked))
            }
            #expect(Self.sections(mine).map(\.title) == Self.sections(reference).map(\.title), "INFO \(asked)")
        }
        let (mine, reference) = try await onThread { (try pair.ours.send(["INFO", "everything"]), try pair.theirs.send(["INFO", "everything"])) }
        let theirs = Dictionary(Self.sections(reference).map { ($0.title, Set($0.fields.keys)) }) { a, _ in a }
        for section in Self.sections(mine) where !["Commandstats", "Errorstats", "Keyspace"].contains(section.title) {
            let unknown = Set(section.fields.keys).subtracting(theirs[section.title] ?? []).subtracting(["pulse_data_store"])
            #expect(unknown.isEmpty, "fields Redis does not have in # \(section.title): \(unknown.sorted())")
        }
        let ours = Dictionary(Self.sections(mine).map { ($0.title, $0.fields) }) { a, _ in a }
        #expect(ours["Server"]?["tcp_port"] == "\(try pair.server.port(service: "ds"))")
        #expect(ours["Server"]?["executable"]?.hasPrefix("/") == true, "\(ours["Server"]?["executable"] ?? "")")
        #expect(Int(ours["Memory"]?["used_memory"] ?? "") ?? 0 > 100_000, "the heap of all threads, not the main arena's")
        #expect(Double(ours["CPU"]?["used_cpu_user"] ?? "") ?? 0 > 0)

        // The keyspace line after the same writes: keys and expiring keys exactly, avg_ttl about the same.
        let writes = [["SET", "a", "1"], ["SET", "b", "2", "EX", "100"], ["SELECT", "3"], ["SET", "c", "3"], ["SELECT", "0"]]
        let keyspaces = try await onThread {
            try [pair.ours, pair.theirs].map { connection in
                for command in writes { _ = try connection.send(command) }
                return Self.sections(try connection.send(["INFO", "keyspace"])).first?.fields ?? [:]
            }
        }
        #expect(keyspaces[0]["db3"] == keyspaces[1]["db3"] && keyspaces[0]["db3"] == "keys=1,expires=0,avg_ttl=0")
        #expect(keyspaces[0]["db0"]?.hasPrefix("keys=2,expires=1,avg_ttl=9") == true, "\(keyspaces[0])")
    }

    /// After CONFIG RESETSTAT, the same commands give the same counts: calls, rejected
    /// and failed calls per command, errors by kind, keyspace hits and misses.
    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func statisticsCountAsRedisCounts() async throws {
        let pair = try await DataStoreParityTests.Pair.start()
        defer { pair.server.shutdown() }
        let commands = [["SET", "x", "1"], ["GET", "x"], ["GET", "missing"], ["MGET", "x", "missing", "y"], ["INCR", "x"],
                        ["LPUSH", "x", "a"], ["GET"], ["NOSUCHCOMMAND"], ["HGET", "x", "f"], ["SET", "y", "2", "EX", "-1"],
                        ["MULTI"], ["INCR", "x"], ["EXEC"], ["CLIENT", "LIST"], ["CONFIG", "GET", "timeout"]]
        let reports = try await onThread {
            try [pair.ours, pair.theirs].map { connection -> [String: [String: String]] in
                let statistics = try Connection(port: connection === pair.ours ? try pair.server.port(service: "ds") : pair.redis.port)
                _ = try statistics.send(["CONFIG", "RESETSTAT"])
                for command in commands { _ = try connection.send(command) }
                let report = try statistics.send(["INFO", "commandstats", "errorstats", "stats"])
                return Dictionary(Self.sections(report).map { ($0.title, $0.fields) }) { a, _ in a }
            }
        }
        /// `calls=1,usec=7,usec_per_call=7.00,rejected_calls=0,failed_calls=0` without the times.
        func counts(_ section: [String: String]?) -> [String: String] {
            (section ?? [:]).filter { $0.key != "cmdstat_info" && $0.key != "cmdstat_config|resetstat" }.mapValues { value in
                value.split(separator: ",").filter { !$0.hasPrefix("usec") }.joined(separator: ",")
            }
        }
        #expect(counts(reports[0]["Commandstats"]) == counts(reports[1]["Commandstats"]))
        #expect(reports[0]["Errorstats"] == reports[1]["Errorstats"])
        for field in ["keyspace_hits", "keyspace_misses", "total_error_replies"] {
            #expect(reports[0]["Stats"]?[field] == reports[1]["Stats"]?[field], "\(field)")
        }
        #expect(reports[0]["Stats"]?["keyspace_misses"] == "3")
    }

    /// CLIENT LIST's fields are Redis's, in its order; the flags, database, name and last
    /// command say what the client does; KILL and REPLY act as Redis's do.
    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func clientListKillAndReplyAsRedis() async throws {
        let pair = try await DataStoreParityTests.Pair.start()
        defer { pair.server.shutdown() }
        for port in [try pair.server.port(service: "ds"), pair.redis.port] {
            let (asker, subscriber, other) = (try Connection(port: port), try Connection(port: port), try Connection(port: port))
            let subscriberID = try await onThread { try subscriber.send(["CLIENT", "ID"]).dropFirst().prefix(while: \.isNumber) }
            let lines = try await onThread { () throws -> [String] in
                _ = try subscriber.send(["SUBSCRIBE", "news"])
                _ = try other.send(["SELECT", "2"])
                _ = try other.send(["CLIENT", "SETNAME", "reporter"])
                _ = try other.send(["MULTI"])
                return [try asker.send(["CLIENT", "INFO"]), try asker.send(["CLIENT", "LIST"]), try asker.send(["CLIENT", "LIST", "TYPE", "pubsub"])]
            }
            let info = Self.fields(of: lines[0])
            #expect(info.map(\.0) == Self.redisClientFields, "port \(port)")
            #expect(Dictionary(info) { a, _ in a }["cmd"] == "client|info")
            let reporter = try #require(Self.clients(lines[1]).first { $0["name"] == "reporter" })
            #expect(reporter["db"] == "2" && reporter["flags"] == "x" && reporter["multi"] == "0" && reporter["cmd"] == "multi")
            // Only subscribers (pulse's own workers subscribe too), ours among them.
            let subscribers = Self.clients(lines[2])
            #expect(subscribers.allSatisfy { $0["flags"]?.contains("P") == true })
            let ours = subscribers.first { $0["id"] == String(subscriberID) }
            #expect(ours?["flags"] == "P" && ours?["sub"] == "1" && ours?["cmd"] == "subscribe", "\(subscribers)")

            // REPLY SKIP drops the next reply; OFF all until ON.
            let replies = try await onThread {
                [try asker.send(raw: "CLIENT REPLY SKIP\r\nSET r 1\r\nGET r\r\n"),
                 try asker.send(raw: "CLIENT REPLY OFF\r\nSET r 2\r\nGET r\r\nCLIENT REPLY ON\r\n"), try asker.send(["GET", "r"])]
            }
            #expect(replies == ["$1\r\n1\r\n", "+OK\r\n", "$1\r\n2\r\n"], "port \(port)")

            // KILL TYPE pubsub closes the subscriber; SKIPME no closes the asker after its reply.
            let killed = try await onThread {
                [try asker.send(["CLIENT", "KILL", "TYPE", "pubsub"]), try subscriber.send(["PING"]),
                 try asker.send(["CLIENT", "KILL", "ADDR", "0.0.0.0:1", "SKIPME", "no"])]
            }
            #expect(killed == [":1\r\n", "<closed>", ":0\r\n"], "port \(port)")
        }
    }

    /// maxclients refuses the connection past the limit with Redis's error; timeout
    /// closes idle clients but not subscribers; requirepass asks new connections for AUTH.
    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func limitsSetByConfigAreEnforced() async throws {
        let pair = try await DataStoreParityTests.Pair.start()
        defer { pair.server.shutdown() }
        for port in [try pair.server.port(service: "ds"), pair.redis.port] {
            let admin = try Connection(port: port)
            let connected = try await onThread { Self.sections(try admin.send(["INFO", "clients"])).first?.fields["connected_clients"] }
            let count = try #require(connected.flatMap { Int($0) })
            #expect(try await onThread { try admin.send(["CONFIG", "SET", "maxclients", "\(count + 1)"]) } == "+OK\r\n")
            let (last, refused) = (try Connection(port: port), try Connection(port: port))
            // The refused connection is told at once; it sends nothing (a write could meet the reset).
            let replies = try await onThread { [try last.send(["PING"]), try refused.send(raw: "")] }
            #expect(replies == ["+PONG\r\n", "-ERR max number of clients reached\r\n"], "port \(port)")
            _ = try await onThread { try admin.send(["CONFIG", "SET", "maxclients", "10000"]) }

            _ = try await onThread { try admin.send(["CONFIG", "SET", "requirepass", "s3cret"]) }
            let newcomer = try Connection(port: port)
            let asked = try await onThread {
                [try newcomer.send(["GET", "k"]), try newcomer.send(["AUTH", "s3cret"]), try admin.send(["CONFIG", "SET", "requirepass", ""])]
            }
            #expect(asked == ["-NOAUTH Authentication required.\r\n", "+OK\r\n", "+OK\r\n"], "port \(port)")
        }
        // CONFIG SET save starts the save rule at once: the snapshot appears where CONFIG GET says.
        let (directory, file) = try await onThread {
            (Self.pairs(try pair.ours.send(["CONFIG", "GET", "dir"])), Self.pairs(try pair.ours.send(["CONFIG", "GET", "dbfilename"])))
        }
        let snapshot = String(directory.dropFirst("dir=".count)) + "/" + String(file.dropFirst("dbfilename=".count))
        try? FileManager.default.removeItem(atPath: snapshot)
        let saved = try await onThread { [try pair.ours.send(["CONFIG", "SET", "save", "1 1"]), try pair.ours.send(["SET", "saved", "yes"])] }
        #expect(saved == ["+OK\r\n", "+OK\r\n"])
        try await eventually(timeout: 30, "the save rule set by CONFIG SET to write \(snapshot)") { FileManager.default.fileExists(atPath: snapshot) }

        // SHUTDOWN is refused, saying why; the store lives on.
        let port = try pair.server.port(service: "ds")
        let shutdown = try await onThread { [try pair.ours.send(["SHUTDOWN", "NOSAVE"]), try pair.ours.send(["PING"])] }
        #expect(shutdown[0].hasPrefix("-ERR SHUTDOWN is refused") && shutdown[1] == "+PONG\r\n", "\(shutdown)")

        // timeout: the idle client is closed within a few seconds; a subscriber is not.
        let (admin, idle, subscriber) = (try Connection(port: port), try Connection(port: port), try Connection(port: port))
        defer { withExtendedLifetime(admin) {} }
        _ = try await onThread { [try idle.send(["PING"]), try subscriber.send(["SUBSCRIBE", "c"]), try admin.send(["CONFIG", "SET", "timeout", "1"])] }
        // Until only the subscriber and the asking connection are left (the admin was idle too).
        try await eventually(timeout: 30, every: 0.2, "the idle clients closed") {
            try Connection(port: port).send(["INFO", "clients"]).contains("connected_clients:2\r\n")
        }
        let restorer = try Connection(port: port)
        let after = try await onThread { [try idle.send(["PING"]), try subscriber.send(["PING"]), try restorer.send(["CONFIG", "SET", "timeout", "0"])] }
        #expect(after == ["<closed>", "*2\r\n$4\r\npong\r\n$0\r\n\r\n", "+OK\r\n"])
    }

    static let redisClientFields = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "ssub", "multi",
                                    "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem", "tot-mem",
                                    "events", "cmd", "user", "redir", "resp"]

    /// `$N\r\nid=1 addr=... resp=2\n\r\n` as its fields in order.
    static func fields(of reply: String) -> [(String, String)] {
        let body = reply.split(separator: "\r\n", maxSplits: 1).dropFirst().first.map(String.init) ?? reply
        return body.split(separator: "\n").first.map { line in
            line.split(separator: " ").map { field in
                let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            }
        } ?? []
    }

    /// CLIENT LIST's bulk reply as one dictionary of fields per client.
    static func clients(_ reply: String) -> [[String: String]] {
        let body = reply.split(separator: "\r\n", maxSplits: 1).dropFirst().first ?? ""
        // "\r\n" is one Character: the last line's end is not split by "\n".
        return body.split(separator: "\n").filter { $0 != "\r\n" }.map { Dictionary(fields(of: String($0))) { a, _ in a } }
    }

    /// INFO's bulk reply as its sections: title and fields.
    static func sections(_ reply: String) -> [(title: String, fields: [String: String])] {
        reply.components(separatedBy: "\r\n# ").enumerated().compactMap { index, chunk in
            let lines = chunk.components(separatedBy: "\r\n")
            let start = index == 0 ? lines.firstIndex { $0.hasPrefix("# ") } : 0
            guard let start else { return nil }
            let title = lines[start].hasPrefix("# ") ? String(lines[start].dropFirst(2)) : lines[start]
            let pairs = lines[(start + 1)...].compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), String(line[line.index(after: colon)...]))
            }
            return (title, Dictionary(pairs) { a, _ in a })
        }
    }

    /// CONFIG GET's flat array as sorted `name=value` lines.
    static func pairs(_ reply: String) -> String {
        let lines = reply.components(separatedBy: "\r\n").filter { !$0.hasPrefix("$") && !$0.hasPrefix("*") && !$0.isEmpty }
        guard reply.hasPrefix("*"), lines.count.isMultiple(of: 2) else { return reply }
        return stride(from: 0, to: lines.count, by: 2).map { "\(lines[$0])=\(lines[$0 + 1])" }.sorted().joined(separator: "\n")
    }

    /// A line's words, `'...'` quoting one that has spaces or is empty.
    static func words(_ line: String) -> [String] {
        var words: [String] = []
        var current: String?
        var quoted = false
        for character in line {
            if character == "'" {
                quoted.toggle()
                current = current ?? ""
            } else if character == " ", !quoted {
                if let word = current { words.append(word) }
                current = nil
            } else {
                current = (current ?? "") + String(character)
            }
        }
        if let word = current { words.append(word) }
        return words
    }
}
