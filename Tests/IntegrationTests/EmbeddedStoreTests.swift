import Arbiter
import PulseControl
import Foundation
import Glibc
import Testing

/// The embedded data store, run by the real arbiter, spoken to by redis-cli and raw sockets.
@Suite(.blockingAllowed) struct EmbeddedStoreTests {
    static let redisCLI = "/usr/bin/redis-cli"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: redisCLI) }

    func cli(_ port: Int, _ arguments: String...) async throws -> String {
        try await onThread {
            try runCapturing([Self.redisCLI, "-p", "\(port)"] + arguments).output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    func storePort(_ server: PulseServer) throws -> Int { try server.port(service: "ds") }

    @Test(.enabled(if: EmbeddedStoreTests.available, "redis-cli is missing: scripts/test installs redis-tools"))
    func redisCLIWorksAgainstEveryCommandGroup() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1, service: "ds")
        let port = try storePort(server)
        #expect(try await cli(port, "PING") == "PONG")
        #expect(try await cli(port, "SET", "greeting", "hello world") == "OK")
        #expect(try await cli(port, "GET", "greeting") == "hello world")
        #expect(try await cli(port, "INCRBY", "counter", "41") == "41")
        #expect(try await cli(port, "RPUSH", "list", "a", "b", "c") == "3")
        #expect(try await cli(port, "LRANGE", "list", "0", "-1") == "a\nb\nc")
        #expect(try await cli(port, "HSET", "user:1", "name", "ada", "lang", "swift") == "2")
        #expect(try await cli(port, "HGET", "user:1", "name") == "ada")
        #expect(try await cli(port, "SADD", "tags", "x", "y") == "2")
        #expect(try await cli(port, "SCARD", "tags") == "2")
        #expect(try await cli(port, "EXPIRE", "greeting", "100") == "1")
        // Redis rounds to the nearest second: 99 once half a second passed between
        // the two redis-cli processes, as it may on a loaded machine.
        let ttl = try await cli(port, "TTL", "greeting")
        #expect(ttl == "100" || ttl == "99", "TTL \(ttl)")
        #expect(try await cli(port, "TYPE", "user:1") == "hash")
        #expect(try await cli(port, "-n", "5", "DBSIZE") == "0")
        #expect(try await cli(port, "DBSIZE") == "5")
        #expect(try await cli(port, "FROB", "a") == "ERR unknown command 'FROB', with args beginning with: 'a'")
        #expect(try await cli(port, "GET", "list") == "WRONGTYPE Operation against a key holding the wrong kind of value")
        // Every command above has been counted once a heartbeat shows 16 of them.
        let status = try await server.waitFor("the store's figures in the status") { status in
            let worker = status.services.first { $0.name == "ds" }?.workers.first
            return (worker?.requests ?? 0) >= 16 && worker?.dataStore?.keys == 5
        }
        let ds = try #require(status.services.first { $0.name == "ds" })
        #expect(ds.auxiliary && ds.workers.count == 1)
    }

    @Test(.enabled(if: EmbeddedStoreTests.available, "redis-cli is missing: scripts/test installs redis-tools"))
    func pubSubReachesSubscribersOnOtherConnections() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1, service: "ds")
        let port = try storePort(server)
        let output = server.directory + "/subscriber.out"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let subscriber = try ChildProcess([Self.redisCLI, "-p", "\(port)", "PSUBSCRIBE", "web*"], output: output)
        defer { subscriber.signal(SIGTERM) }
        try await eventually(timeout: 30, "the subscription") { (try? self.numpat(port)) == 1 }
        #expect(try await cli(port, "PUBLISH", "webchat", "hello everyone") == "1")
        try await eventually(timeout: 30, "the message at the subscriber") {
            ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").contains("pmessage\nweb*\nwebchat\nhello everyone")
        }
        #expect(try await cli(port, "PUBLISH", "elsewhere", "nobody listens") == "0")
    }

    func numpat(_ port: Int) throws -> Int {
        let reply = try HTTPProbe.exchange(port: port, "*2\r\n$6\r\nPUBSUB\r\n$6\r\nNUMPAT\r\n*1\r\n$4\r\nQUIT\r\n", timeout: 5)
        return Int(reply.split(separator: "\r\n").first?.dropFirst() ?? "") ?? -1
    }

    @Test func badInputIsRefusedAndTheStoreLivesOn() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        let before = try await server.waitForReady(1, service: "ds").services.first { $0.name == "ds" }!.workers[0].pid
        let port = try storePort(server)
        let malformed = try await onThread { try HTTPProbe.exchange(port: port, "*1\r\n:5\r\n") }
        #expect(malformed.hasPrefix("-ERR Protocol error"))
        let huge = try await onThread { try HTTPProbe.exchange(port: port, "*1\r\n$99999999999\r\n") }
        #expect(huge == "-ERR Protocol error: invalid bulk length\r\n")
        let many = try await onThread { try HTTPProbe.exchange(port: port, "*999999999\r\n") }
        #expect(many == "-ERR Protocol error: invalid multibulk length\r\n")
        let subscribed = try await onThread {
            try HTTPProbe.exchange(port: port, "*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nc\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nQUIT\r\n")
        }
        #expect(subscribed.contains("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
        let inline = try await onThread { try HTTPProbe.exchange(port: port, "PING\r\nQUIT\r\n") }
        #expect(inline == "+PONG\r\n+OK\r\n")
        #expect(try server.status().services.first { $0.name == "ds" }!.workers[0].pid == before)
    }

    @Test(.enabled(if: EmbeddedStoreTests.available, "redis-cli is missing: scripts/test installs redis-tools"))
    func transactionsWatchAndBlockingPopsAcrossConnections() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1, service: "ds")
        let port = try storePort(server)
        let multi = try await onThread {
            try HTTPProbe.exchange(port: port, "MULTI\r\nSET a 1\r\nINCR a\r\nEXEC\r\nQUIT\r\n")
        }
        #expect(multi == "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:2\r\n+OK\r\n")
        // WATCH on one connection, a write on another, EXEC fails.
        let conflict = try await onThread { () -> String in
            let fd = try HTTPProbe.connect(port: port, timeout: 5)
            defer { close(fd) }
            try HTTPProbe.sendAll(fd, Array("WATCH a\r\n".utf8))
            // WATCH's reply first, so the other connection's SET comes after it.
            var watched = [UInt8](repeating: 0, count: 5)
            var count = 0
            while count < 5 {
                let got = watched.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + count, 5 - count, 0) }
                guard got > 0 else { break }
                count += got
            }
            _ = try HTTPProbe.exchange(port: port, "SET a changed\r\nQUIT\r\n")
            try HTTPProbe.sendAll(fd, Array("MULTI\r\nSET a mine\r\nEXEC\r\nGET a\r\nQUIT\r\n".utf8))
            return String(decoding: watched[..<count], as: UTF8.self) + (try HTTPProbe.readToEnd(fd))
        }
        #expect(conflict == "+OK\r\n+OK\r\n+QUEUED\r\n*-1\r\n$7\r\nchanged\r\n+OK\r\n")
        // BLPOP waits for a push from another connection; the pipeline behind it waits too.
        async let popped = onThread { try HTTPProbe.exchange(port: port, "BLPOP jobs 10\r\nPING\r\nQUIT\r\n", timeout: 30) }
        try await eventually(timeout: 9, every: 0.05, "BLPOP blocked") { try HTTPProbe.exchange(port: port, "INFO clients\r\nQUIT\r\n").contains("blocked_clients:1\r\n") }
        #expect(try await cli(port, "RPUSH", "jobs", "build") == "1")
        #expect(try await popped == "*2\r\n$4\r\njobs\r\n$5\r\nbuild\r\n+PONG\r\n+OK\r\n")
        let started = Date()
        #expect(try await cli(port, "BRPOP", "nothing", "0.5").isEmpty)
        #expect(Date().timeIntervalSince(started) >= 0.45)
    }

    @Test(.enabled(if: EmbeddedStoreTests.available, "redis-cli is missing: scripts/test installs redis-tools"))
    func aSnapshotSurvivesAKilledStoreAndSaveRulesSaveByThemselves() async throws {
        let server = try PulseServer(arguments: ["-w", "1", "--ds-save", "1:1"])
        defer { server.shutdown() }
        let first = try await server.waitForReady(1, service: "ds").services.first { $0.name == "ds" }!.workers[0].pid
        let port = try storePort(server)
        let snapshot = server.directory + "/ds.snapshot"
        let setAt = Date()
        #expect(try await cli(port, "SET", "kept", "yes", "EX", "500") == "OK")
        #expect(try await cli(port, "ZADD", "board", "3", "ada") == "1")
        try await eventually(timeout: 30, "the save rule to write the snapshot") { FileManager.default.fileExists(atPath: snapshot) }
        #expect(try await cli(port, "RPUSH", "late", "x") == "1")
        // A background save the rule started may still be writing: SAVE is refused until it ends.
        var saved = ""
        for _ in 0..<50 where saved != "OK" {
            saved = try await cli(port, "SAVE")
            if saved != "OK" { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(saved == "OK")
        kill(first, SIGKILL)
        try await server.waitFor("the store back") { status in
            let workers = status.services.first { $0.name == "ds" }!.workers
            return workers.count == 1 && workers[0].state == .ready && workers[0].pid != first
        }
        #expect(try await cli(port, "GET", "kept") == "yes")
        // The deadline itself survives: what is left is 500 s less the time since SET
        // (which a loaded machine makes long), never reset and never lost.
        let ttl = Int(try await cli(port, "TTL", "kept")) ?? 0
        let elapsed = Int(Date().timeIntervalSince(setAt).rounded(.up))
        #expect(ttl >= 500 - elapsed - 1 && ttl <= 500, "TTL \(ttl) after \(elapsed) s")
        #expect(try await cli(port, "ZSCORE", "board", "ada") == "3")
        #expect(try await cli(port, "LRANGE", "late", "0", "-1") == "x")
        #expect(server.log.contains("loaded 3 keys from \(snapshot)"))
        #expect(try await cli(port, "BGSAVE") == "Background saving started")
    }

    @Test func aSubscriberThatDoesNotReadIsLetGo() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1, service: "ds")
        let port = try storePort(server)
        let lazy = try await onThread { () -> Int32 in
            let fd = try HTTPProbe.connect(port: port, timeout: 5)
            var small: Int32 = 4096
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            try HTTPProbe.sendAll(fd, Array("SUBSCRIBE firehose\r\n".utf8))
            return fd
        }
        defer { close(lazy) }
        let payload = String(repeating: "x", count: 1 << 20)
        let request = "*3\r\n$7\r\nPUBLISH\r\n$8\r\nfirehose\r\n$\(payload.utf8.count)\r\n\(payload)\r\n"
        var receivers: [Int] = []
        for _ in 0..<48 {
            let reply = try await onThread { try HTTPProbe.exchange(port: port, request + "*1\r\n$4\r\nQUIT\r\n", timeout: 10) }
            receivers.append(Int(reply.split(separator: "\r\n").first?.dropFirst() ?? "") ?? -1)
            if receivers.last == 0 { break }
        }
        // Past 32 MiB unread (plus what the kernel buffers), the subscriber is dropped.
        #expect(receivers.first == 1)
        #expect(receivers.last == 0, "still subscribed after \(receivers.count) MiB: \(receivers.suffix(3))")
        let alive = try await onThread { try HTTPProbe.exchange(port: port, "PING\r\nQUIT\r\n") }
        #expect(alive == "+PONG\r\n+OK\r\n")
    }

    @Test func theStoreIsSupervisedButNotScaledAndRedisURLsStartNone() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        let first = try await server.waitForReady(1, service: "ds").services.first { $0.name == "ds" }!.workers[0].pid
        let refused = try server.request(.scale(.by(1), service: "ds"))
        #expect(!refused.ok && refused.message?.contains("not scaled") == true)
        #expect(try server.request(.scale(.by(1), service: nil)).ok)   // the web service, by default
        try await server.waitForReady(2)
        kill(first, SIGKILL)
        try await server.waitFor("the store respawned") { status in
            let workers = status.services.first { $0.name == "ds" }!.workers
            return workers.count == 1 && workers[0].state == .ready && workers[0].pid != first
        }

        // A client that stays connected does not hold up the store's shutdown.
        let idle = try await onThread { [port = try storePort(server)] in try HTTPProbe.connect(port: port, timeout: 5) }
        defer { close(idle) }
        let stopping = Date()
        server.signal(SIGTERM)
        #expect(try await server.waitForExit(timeout: 30) == 0)
        #expect(Date().timeIntervalSince(stopping) < 15)   // held up, it would take the 30 s graceful timeout

        let external = try PulseServer(arguments: ["-w", "1", "--data-store", "redis://127.0.0.1:6399/2"])
        defer { external.shutdown() }
        let status = try await external.waitForReady(1)
        #expect(status.services.map(\.name) == ["web"])
    }
}
