import PulsarRuntime
import Arbiter
import PulseControl
import Foundation
import Glibc
import Mailbox
import Postgres
import PulsarClients
import Server
import Testing

/// PostgreSQL in the server, against a throwaway cluster each test starts: the two
/// execution modes seen from outside, a database going down and coming back, migrate.
@Suite(.serialized, .blockingAllowed) struct DatabaseTests {
    func concurrently(_ count: Int, port: Int, _ path: String) async throws -> (statuses: [Int], seconds: Double) {
        let started = Date()
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<count { group.addTask { try await onThread { try HTTPProbe.get(port: port, path, timeout: 40).status } } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        return (statuses, Date().timeIntervalSince(started))
    }

    @Test func fourThreadsNeedThreeWavesAHundredGreenletsOne() async throws {
        let cluster = try await onThread { try PostgresCluster.shared() }
        let threads = try PulseServer(binary: "pulse", arguments: ["-w", "1", "--thread-workers", "4", "--database", cluster.url])
        defer { threads.shutdown() }
        try await threads.waitForReady(1)
        // Reported from boot, before any query: the dashboard shows the pool, and its demo load sends /db.
        try await threads.waitFor("the pool reported before the first query") { $0.services[0].workers[0].database?.size == 4 }
        // 3 s per query rather than the 0.3 s, so a stalled machine cannot blur the waves.
        let threaded = try await concurrently(12, port: try threads.port(), "/db?ms=3000")
        #expect(threaded.statuses.allSatisfy { $0 == 200 })
        #expect(threaded.seconds >= 9.0, "12 queries of 3 s on 4 threads took \(threaded.seconds) s: fewer than three waves")
        let pool = try await threads.waitFor("the pool in the heartbeat") { $0.services[0].workers[0].database != nil }
        #expect(pool.services[0].workers[0].database?.size == 4)

        let green = try PulseServer(binary: "pulse", arguments: ["-w", "1", "--greenlet", "100", "--database", cluster.url])
        defer { green.shutdown() }
        try await green.waitForReady(1)
        let cooperative = try await concurrently(12, port: try green.port(), "/db?ms=3000")
        #expect(cooperative.statuses.allSatisfy { $0 == 200 })
        #expect(cooperative.seconds >= 3.0 && cooperative.seconds < 6.0, "12 queries of 3 s took \(cooperative.seconds) s: more than one wave")
        try await green.waitFor("a pool of 100 in the heartbeat") { $0.services[0].workers[0].database?.size == 100 }
    }

    @Test func aStoppedDatabaseAnswers503QuicklyAndServiceComesBack() async throws {
        let cluster = try await onThread { try PostgresCluster() }
        let server = try PulseServer(binary: "pulse", arguments: ["-w", "1", "--database", cluster.url])
        defer { server.shutdown() }
        let pid = try await server.waitForReady(1).services[0].workers[0].pid
        let port = try server.port()
        let up = try await onThread { try HTTPProbe.get(port: port, "/db/now") }
        #expect(up.status == 200 && up.body.contains("\"now\""))

        try await onThread { try cluster.stop() }
        let started = Date()
        let down = try await onThread { try HTTPProbe.get(port: port, "/db/now") }
        #expect(down.status == 503)
        #expect(down.headers["content-type"] == "application/json" && down.body.contains("the database is unavailable"))
        #expect(Date().timeIntervalSince(started) < 4.5)   // under the 5 s connect timeout a wait would cost
        #expect(try server.workerPIDs() == [pid])

        try await onThread { try cluster.start() }
        try await eventually(timeout: 15, "200 again after the database restarted") {
            (try? HTTPProbe.get(port: port, "/db/now").status) == 200
        }
        #expect(try server.workerPIDs() == [pid])
    }

    @Test(arguments: [ExecutionMode.thread, .cooperative])
    func theClientsTransactionsCommitOrRollBackInEitherMode(mode: ExecutionMode) async throws {
        let cluster = try await onThread { try PostgresCluster.shared() }
        let client = try PostgresClient(url: cluster.url, poolSize: 2)
        let table = "accounts_\(mode.rawValue)"
        struct Refused: Error {}
        try await Execution.$mode.withValue(mode) {
            _ = try await client.query("CREATE TABLE IF NOT EXISTS \(table) (name text PRIMARY KEY, balance int)")
            _ = try await client.query("TRUNCATE \(table)")
            try await client.transaction { transaction in
                _ = try await transaction.query("INSERT INTO \(table) VALUES ($1, $2)", ["ada", 100])
                _ = try await transaction.query("INSERT INTO \(table) VALUES ($1, $2)", ["bob", 50])
            }
            await #expect(throws: Refused.self) {
                try await client.transaction { transaction in
                    _ = try await transaction.query("UPDATE \(table) SET balance = balance - 80 WHERE name = $1", ["ada"])
                    throw Refused()
                }
            }
            let balance = try await client.query("SELECT balance FROM \(table) WHERE name = $1", ["ada"]).rows[0].decode(0, as: Int.self)
            #expect(balance == 100)
            #expect(client.usage.inUse == 0)
        }
    }

    // One case at a time: both count the pg_sleeps of the whole cluster, and one
    // case's query still running would read as the other's not cancelled.
    @Test(.serialized, arguments: ["--thread-workers", "--greenlet"])
    func aClientThatLeavesHasItsQueryCancelled(modeFlag: String) async throws {
        let cluster = try await onThread { try PostgresCluster.shared() }
        let server = try PulseServer(binary: "pulse", arguments: ["-w", "1", modeFlag, "10", "--database", cluster.url])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        let observer = try await PostgresConnection.connect(try PostgresConfiguration(url: cluster.url))
        // Ours is the only pg_sleep that runs longer than 5 s in this process's tests: the
        // waves of `fourThreadsNeedThreeWaves...`, 3 s each, may run beside it (CI saw one
        // keep this count above 0 long enough to fail the test).
        let sleeping = """
            SELECT count(*) AS n FROM pg_stat_activity
            WHERE state = 'active' AND query LIKE 'SELECT pg_sleep%' AND now() - query_start > interval '5 seconds'
            """
        func count() async throws -> Int { try await observer.query(sleeping).rows[0].decode("n", as: Int.self) }
        let fd = try await onThread { () -> Int32 in
            let fd = try HTTPProbe.connect(port: port, timeout: 5)
            try HTTPProbe.sendAll(fd, Array("GET /db?ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            return fd
        }
        var seen = false
        for _ in 0..<150 where !seen {
            seen = try await count() == 1
            if !seen { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(seen, "the 20 s query never showed up in pg_stat_activity")
        close(fd)
        // Well under the query's 20 s: cancelled, not finished. (Alone it takes under a
        // second; under the whole suite on two cores it once took just over 5.)
        let closed = Date()
        var gone = false
        while !gone, Date().timeIntervalSince(closed) < 12 {
            gone = try await count() == 0
            if !gone { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(gone, "the query kept running after its client left")
        // The worker and its pool are fine afterwards.
        let after = try await onThread { try HTTPProbe.get(port: port, "/db?ms=1") }
        #expect(after.status == 200)
    }

    @Test(arguments: [ExecutionMode.thread, .cooperative])
    func anExhaustedPoolMakesCallersWaitThenGiveUp(mode: ExecutionMode) async throws {
        let cluster = try await onThread { try PostgresCluster.shared() }
        let client = try PostgresClient(url: cluster.url, poolSize: 1, waitTimeout: 0.3)
        try await Execution.$mode.withValue(mode) {
            async let holding = client.query("SELECT pg_sleep(1)")          // the only connection, for 1 s
            try await Task.sleep(for: .milliseconds(150))
            #expect(client.usage.inUse == 1 && client.usage.size == 1)
            let started = Date()
            await #expect {
                _ = try await client.query("SELECT 1")
            } throws: { error in
                (error as? PostgresError)?.message == "no database connection free within 0.3s"
            }
            #expect(Date().timeIntervalSince(started) >= 0.25)
            _ = try await holding
            #expect(try await client.query("SELECT 2 AS n").rows[0].decode("n", as: Int.self) == 2)   // it came back
        }
    }

    @Test func withoutADatabaseTheDemoSaysSo() async throws {
        let server = try PulseServer(binary: "pulse", arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let reply = try await onThread { [port = try server.port()] in try HTTPProbe.get(port: port, "/db?ms=1") }
        #expect(reply.status == 503 && reply.body.contains("--database"))
    }

    @Test func migrateIsIdempotentAndRefusesBadURLs() async throws {
        let cluster = try await onThread { try PostgresCluster.shared() }
        for _ in 0..<2 {
            let result = try await runCommand("pulse", ["migrate", "--database", cluster.url])
            #expect(result.status == 0 && result.output.contains("migrated"), "\(result.output)")
        }
        let bad = try await runCommand("pulse", ["migrate", "--database", "mysql://nope"])
        #expect(bad.status != 0 && bad.output.contains("--database"))
        let serveBad = try await runCommand("pulse", ["--database", "mysql://nope", "--control", cluster.directory + "/c.sock"])
        #expect(serveBad.status != 0 && serveBad.output.contains("--database"))
    }
}
