import PulsarRuntime
import Arbiter
import PulseControl
import Mailbox
import DataStore
import Foundation
import Glibc
import PulsarClients
import Server
import TestSupport
import Testing

/// The client against the embedded store and against a real redis-server,
/// in both ways of waiting.
@Suite(.blockingAllowed) struct DataStoreClientTests {
    enum Backend: String, CaseIterable { case embedded, redis }

    /// A running store of the given kind and its URL; the returned value keeps it alive.
    func start(_ backend: Backend) async throws -> (url: String, keepAlive: AnyObject) {
        switch backend {
        case .embedded:
            let server = try PulseServer(arguments: ["-w", "1"])
            try await server.waitForReady(1, service: "ds")
            return ("pulsar://127.0.0.1:\(try server.port(service: "ds"))/3", server)
        case .redis:
            let redis = try await RedisServer.start()
            return ("redis://127.0.0.1:\(redis.port)/3", redis)
        }
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"), arguments: Backend.allCases)
    func theSameCallsWorkInBothModes(backend: Backend) async throws {
        let (url, keepAlive) = try await start(backend)
        defer { withExtendedLifetime(keepAlive) {} }
        let client = try DataStoreClient(url: url, poolSize: 2)
        for mode in [ExecutionMode.cooperative, .thread] {
            try await Execution.$mode.withValue(mode) {
                let key = "counter:\(mode.rawValue)"
                try await client.set(key, "41")
                #expect(try await client.send("INCR", key) == .integer(42))
                #expect(try await client.get(key) == "42")
                #expect(try await client.get("missing") == nil)
                try await client.send("RPUSH", "list", "a")
                await #expect(throws: DataStoreClientError.self) { try await client.send("INCR", "list") }
                #expect(try await client.send("DBSIZE") != .integer(0))
                try await client.send("DEL", "list")
            }
        }
        // The URL's database was selected on every connection.
        let other = try DataStoreClient(url: url.replacingOccurrences(of: "/3", with: "/0"))
        #expect(try await other.get("counter:thread") == nil)
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"), arguments: Backend.allCases)
    func subscriptionsReceiveWhatIsPublished(backend: Backend) async throws {
        let (url, keepAlive) = try await start(backend)
        defer { withExtendedLifetime(keepAlive) {} }
        let client = try DataStoreClient(url: url)
        let subscription = try await client.subscribe(to: ["webchat"])
        defer { subscription.cancel() }
        var delivered = 0
        let deadline = Date().addingTimeInterval(20)   // until the subscription is in place
        while delivered == 0, Date() < deadline {
            delivered = try await client.publish("webchat", "{\"message\":\"hi\"}")
            if delivered == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(delivered == 1)
        var iterator = subscription.makeAsyncIterator()
        let first = try await iterator.next()
        #expect(first == DataStoreMessage(channel: "webchat", message: "{\"message\":\"hi\"}"))
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"), arguments: Backend.allCases)
    func anExhaustedPoolMakesCallersWaitThenGiveUp(backend: Backend) async throws {
        let (url, keepAlive) = try await start(backend)
        defer { withExtendedLifetime(keepAlive) {} }
        // A wait of 1 s: the pop itself may queue behind a PING on a busy machine and
        // must not give up in that time (with 0.3 s it once did, and nothing held the pool).
        let client = try DataStoreClient(url: url, poolSize: 1, waitTimeout: 1)
        #expect(try await client.send("PING") == .simpleString("PONG"))
        async let holding = client.send("BLPOP", "never", "30")          // holds the only connection until unblocked
        // Wait until the store itself says the pop is blocked: from then on the pool's
        // only connection is taken, however late the pop started on a busy machine.
        let observer = try DataStoreClient(url: url, poolSize: 1)
        var blocked = false
        let deadline = Date().addingTimeInterval(20)
        while !blocked, Date() < deadline {
            if case .bulkString(let info?) = try await observer.send("INFO", "clients") {
                blocked = String(decoding: info, as: UTF8.self).contains("blocked_clients:1\r\n")
            }
            if !blocked { try await Task.sleep(for: .milliseconds(50)) }
        }
        try #require(blocked, "the BLPOP never blocked in the store")
        var refusal: (error: DataStoreClientError, waited: Double)?
        let started = Date()
        do {
            _ = try await client.send("PING")
        } catch let error as DataStoreClientError {
            refusal = (error, Date().timeIntervalSince(started))
        }
        let (error, waited) = try #require(refusal, "a PING got through while the BLPOP held the only connection")
        #expect(error.kind == .poolExhausted)
        #expect(waited >= 0.9)
        // CLIENT UNBLOCK ends the pop as its timeout would; CLIENT LIST names it by its flag `b`.
        guard case .bulkString(let list?) = try await observer.send("CLIENT", "LIST") else { Issue.record("CLIENT LIST"); return }
        let line = try #require(String(decoding: list, as: UTF8.self).split(separator: "\n").first { $0.contains(" flags=b ") })
        let id = try #require(line.split(separator: " ").first.map { String($0.dropFirst(3)) })
        #expect(try await observer.send("CLIENT", "UNBLOCK", id) == .integer(1))
        #expect(try await holding == .array(nil))
        #expect(try await client.send("PING") == .simpleString("PONG"))  // the connection came back
    }

    @Test func aStoreThatIsDownFailsQuickly() async throws {
        // Bound but not listening: connections are refused, and nobody else can take the port.
        let (fd, port) = try boundSocket(listening: false)
        defer { close(fd) }
        let client = try DataStoreClient(url: "redis://127.0.0.1:\(port)/0")
        let started = Date()
        for mode in [ExecutionMode.cooperative, .thread] {
            let error = await #expect(throws: DataStoreClientError.self) { try await Execution.$mode.withValue(mode) { try await client.send("PING") } }
            #expect(error?.kind == .unavailable)
        }
        #expect(Date().timeIntervalSince(started) < 15, "a refused connection must fail, not hang")
        #expect(!client.isAvailable)
    }

    @Test func aStoreThatAcceptsButNeverAnswersTimesOut() async throws {
        // Listening, never accepting: the kernel completes the connection, nobody replies
        // (what a client sees while the arbiter holds the store's socket between two stores).
        let (fd, port) = try boundSocket(listening: true)
        defer { close(fd) }
        // The reply timeout also bounds the connect: 3 s, so that a busy machine's slow
        // handshake is not mistaken for an unreachable store (1 s was not, once, in CI:
        // "Connect timeout (1 s)" with the whole suite running).
        let client = try DataStoreClient(url: "redis://127.0.0.1:\(port)/0", replyTimeout: 3)
        for mode in [ExecutionMode.cooperative, .thread] {
            let error = await #expect(throws: DataStoreClientError.self) { try await Execution.$mode.withValue(mode) { try await client.send("PING") } }
            #expect(error?.kind == .timeout, "\(mode): \(String(describing: error))")
        }
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func aBlockingPopWaitsAsLongAsItAsksNotTheReplyTimeout() async throws {
        let redis = try await RedisServer.start()
        // The reply timeout is also the connect timeout, and the slack a blocking reply
        // gets: 2 s, so that a machine busy with the rest of the suite fails neither;
        // the pop then waits longer than that.
        let client = try DataStoreClient(url: "redis://127.0.0.1:\(redis.port)/0", replyTimeout: 2)
        for mode in [ExecutionMode.cooperative, .thread] {
            let reply = try await Execution.$mode.withValue(mode) { try await client.send("BLPOP", "never", "3") }
            #expect(reply == .array(nil), "\(mode)")
        }
        #expect(client.isAvailable)
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func pooledConnectionsOutliveARestartOfTheStore() async throws {
        let redis = try await RedisServer.start()
        let client = try DataStoreClient(url: "redis://127.0.0.1:\(redis.port)/0", poolSize: 3)
        let availability = client.availabilityChanges()
        for mode in [ExecutionMode.cooperative, .thread] {
            try await Execution.$mode.withValue(mode) {
                // Fill the pool, then restart the store under it: no caller sees the stale connections.
                async let a = client.send("PING")
                async let b = client.send("PING")
                async let c = client.send("PING")
                _ = try await (a, b, c)
                redis.stop()
                let down = await #expect(throws: DataStoreClientError.self) { try await client.send("PING") }
                #expect(down?.kind == .unavailable)
                try await redis.start()
                for _ in 0..<6 { #expect(try await client.send("PING") == .simpleString("PONG")) }
            }
        }
        var changes: [Bool] = []
        for await change in availability {
            changes.append(change)
            if changes.count == 4 { break }
        }
        #expect(changes == [false, true, false, true])
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"), arguments: Backend.allCases)
    func aFeedResubscribesWhenTheStoreComesBack(backend: Backend) async throws {
        let redis = backend == .redis ? try await RedisServer.start() : nil
        let server = redis == nil ? try PulseServer(arguments: ["-w", "1"]) : nil
        defer { server?.shutdown() }
        if let server { try await server.waitForReady(1, service: "ds") }
        let port = try redis?.port ?? server!.port(service: "ds")
        let client = try DataStoreClient(url: "redis://127.0.0.1:\(port)/0")
        var feed = client.follow(channels: ["news"], patterns: ["web*"]).makeAsyncIterator()
        #expect(await feed.next() == .connected)
        #expect(try await client.publish("news", "one") == 1)
        #expect(await feed.next() == .message(DataStoreMessage(channel: "news", message: "one")))
        #expect(try await client.publish("webchat", "two") == 1)
        #expect(await feed.next() == .message(DataStoreMessage(channel: "webchat", message: "two", pattern: "web*")))

        if let redis {
            redis.stop()
            try await redis.start()
        } else if let server {
            let old = try #require(try server.workerPIDs(service: "ds").first)
            kill(old, SIGKILL)
        }
        guard case .disconnected(let error)? = await feed.next() else {
            Issue.record("the feed did not say it lost the store")
            return
        }
        #expect(error.isUnavailable)
        #expect(await feed.next() == .connected)
        // At least the feed: an attempt the feed gave up on while no store answered may
        // still count until the new store reads its close, as it would with Redis.
        let delivered = try await client.publish("news", "three")
        #expect(delivered >= 1, "delivered to \(delivered)")
        #expect(await feed.next() == .message(DataStoreMessage(channel: "news", message: "three")))
    }
}
