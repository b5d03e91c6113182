import Foundation
@testable import Postgres
import TestSupport
import Testing

/// The libpq client against a real PostgreSQL the suite starts itself, in both
/// ways of waiting: blocking the calling thread, and suspending on the socket.
@Suite(.blockingAllowed) struct PostgresClientTests {
    /// The process's shared cluster, stopped and removed at exit.
    let cluster: PostgresCluster

    init() async throws { cluster = try await onThread { try PostgresCluster.shared() } }

    func configuration() throws -> PostgresConfiguration {
        try PostgresConfiguration(url: cluster.url)
    }

    enum Waiting: String, CaseIterable { case blocking, suspending }

    func query(_ waiting: Waiting, _ connection: PostgresConnection, _ sql: String,
               _ parameters: [any PostgresEncodable] = []) async throws -> PostgresResult {
        switch waiting {
        case .blocking:
            return try await onThread { try connection.queryBlocking(sql, parameters) }
        case .suspending:
            return try await connection.query(sql, parameters)
        }
    }

    func connect(_ waiting: Waiting) async throws -> PostgresConnection {
        let configuration = try configuration()
        switch waiting {
        case .blocking: return try await onThread { try PostgresConnection.connectBlocking(configuration) }
        case .suspending: return try await PostgresConnection.connect(configuration)
        }
    }

    struct Profile: Codable, Equatable, Sendable {
        let name: String
        let tags: [String]
    }

    @Test(arguments: Waiting.allCases)
    func typesRoundTrip(waiting: Waiting) async throws {
        let connection = try await connect(waiting)
        let moment = Date(timeIntervalSince1970: 1_795_000_000.123456)
        let id = UUID()
        let bytes = PostgresBytes([0, 1, 2, 254, 255])
        let result = try await query(waiting, connection, """
            SELECT $1::int8 AS i, $2::float8 AS f, $3::numeric AS n, $4::text AS t, $5::bool AS b, $6::bytea AS raw,
                   $7::timestamptz AS at, $8::date AS d, $9::uuid AS id, $10::jsonb AS profile, $11::int8[] AS ints,
                   $12::text[] AS words, $13::text AS missing, 'NaN'::float8 AS nan
            """, [Int.max, 2.5, Decimal(string: "12345678901234567890.123")!, "héllo \"quoted\"", true, bytes,
                  moment, Date(timeIntervalSince1970: 86_400 * 20_000), id, PostgresJSON(Profile(name: "ada", tags: ["x"])),
                  [1, 2, 3], ["a b", "c,d", "e\"f"], String?.none])
        let row = try #require(result.rows.first)
        #expect(try row.decode("i", as: Int.self) == Int.max)
        #expect(try row.decode("f", as: Double.self) == 2.5)
        #expect(try row.decode("n", as: Decimal.self) == Decimal(string: "12345678901234567890.123")!)
        #expect(try row.decode("t", as: String.self) == "héllo \"quoted\"")
        #expect(try row.decode("b", as: Bool.self))
        #expect(try row.decode("raw", as: PostgresBytes.self) == bytes)
        #expect(abs(try row.decode("at", as: Date.self).timeIntervalSince1970 - moment.timeIntervalSince1970) < 0.000002)
        #expect(try row.decode("d", as: Date.self) == Date(timeIntervalSince1970: 86_400 * 20_000))
        #expect(try row.decode("id", as: UUID.self) == id)
        #expect(try row.decode("profile", as: PostgresJSON<Profile>.self).value == Profile(name: "ada", tags: ["x"]))
        #expect(try row.decode("ints", as: [Int].self) == [1, 2, 3])
        #expect(try row.decode("words", as: [String].self) == ["a b", "c,d", "e\"f"])
        #expect(try row.decode("missing", as: String?.self) == nil)
        #expect(throws: PostgresError.self) { try row.decode("missing", as: String.self) }
        #expect(try row.decode("nan", as: Double.self).isNaN)
    }

    @Test(arguments: Waiting.allCases)
    func errorsCarrySQLStateMessageAndDetail(waiting: Waiting) async throws {
        let connection = try await connect(waiting)
        do {
            _ = try await query(waiting, connection, "SELECT 1 / $1::int", [0])
            Issue.record("division by zero succeeded")
        } catch let error as PostgresError {
            #expect(error.sqlState == "22012" && error.message == "division by zero")
        }
        let table = "unique_\(waiting.rawValue)"
        _ = try await query(waiting, connection, "CREATE TEMP TABLE \(table) (id int PRIMARY KEY)")
        _ = try await query(waiting, connection, "INSERT INTO \(table) VALUES ($1)", [7])
        do {
            _ = try await query(waiting, connection, "INSERT INTO \(table) VALUES ($1)", [7])
            Issue.record("duplicate key accepted")
        } catch let error as PostgresError {
            #expect(error.sqlState == "23505")
            #expect(error.detail == "Key (id)=(7) already exists.")
        }
        await #expect(throws: PostgresError.self) { _ = try await query(waiting, connection, "SELEC 1") }
        // The connection is fine after errors.
        #expect(try await query(waiting, connection, "SELECT $1::int + 1 AS two", [1]).rows.first?.decode("two", as: Int.self) == 2)
        let inserted = try await query(waiting, connection, "INSERT INTO \(table) SELECT generate_series(10, 14)")
        #expect(inserted.rowsAffected == 5)
    }

    /// Three suspending queries on one thread of the pool run at once: the server's
    /// own clock shows every sleep starting before any ends (no wall-clock bound,
    /// which a loaded machine would break).
    @Test func suspendingQueriesOverlap() async throws {
        let connections = try await [connect(.suspending), connect(.suspending), connect(.suspending)]
        let sql = "SELECT extract(epoch FROM clock_timestamp())::float8 AS began, pg_sleep(1), "
            + "extract(epoch FROM clock_timestamp())::float8 AS ended"
        let spans = try await withThrowingTaskGroup(of: (Double, Double).self) { group in
            for connection in connections {
                group.addTask {
                    let row = try #require(try await connection.query(sql).rows.first)
                    return (try row.decode("began", as: Double.self), try row.decode("ended", as: Double.self))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(spans.count == 3)
        let lastStart = spans.map(\.0).max() ?? 0, firstEnd = spans.map(\.1).min() ?? 0
        #expect(lastStart < firstEnd, "the sleeps ran one after another: \(spans)")
    }

    @Test func aServerThatIsDownFailsQuicklyInBothModes() async throws {
        let (fd, port) = try boundSocket(listening: false)
        defer { close(fd) }
        let url = "postgres://pulse@127.0.0.1:\(port)/postgres"
        let started = Date()
        let configuration = try PostgresConfiguration(url: url)
        await #expect(throws: PostgresError.self) { _ = try await onThread { try PostgresConnection.connectBlocking(configuration) } }
        await #expect(throws: PostgresError.self) { _ = try await PostgresConnection.connect(try PostgresConfiguration(url: url)) }
        #expect(Date().timeIntervalSince(started) < 5, "a refused connection must fail, not hang")
        #expect(throws: PostgresError.self) { _ = try PostgresConfiguration(url: "mysql://x") }
    }
}


extension PostgresClientTests {
    @Test func listenNotifyArrivesAsAnAsyncSequence() async throws {
        let listener = try await connect(.suspending)
        let notifier = try await connect(.suspending)
        let stream = try await listener.notifications(on: ["jobs", "odd \"name\""])
        _ = try await notifier.query("SELECT pg_notify($1, $2)", ["jobs", "build 42"])
        _ = try await notifier.query("NOTIFY \"odd \"\"name\"\"\", 'quoted'")
        var iterator = stream.makeAsyncIterator()
        let first = try await iterator.next()
        #expect(first?.channel == "jobs" && first?.payload == "build 42" && first?.senderPID == notifier.backendPID)
        let second = try await iterator.next()
        #expect(second?.channel == "odd \"name\"" && second?.payload == "quoted")
    }

    @Test(arguments: Waiting.allCases)
    func transactionsCommitOrRollBack(waiting: Waiting) async throws {
        let connection = try await connect(waiting)
        let table = "ledger_\(waiting.rawValue)_\(UInt32.random(in: 0...UInt32.max))"
        _ = try await query(waiting, connection, "CREATE TABLE \(table) (amount int)")
        _ = try await query(waiting, connection, "BEGIN")
        _ = try await query(waiting, connection, "INSERT INTO \(table) VALUES (1)")
        _ = try await query(waiting, connection, "ROLLBACK")
        #expect(try await query(waiting, connection, "SELECT count(*) AS n FROM \(table)").rows[0].decode("n", as: Int.self) == 0)
        _ = try await query(waiting, connection, "DROP TABLE \(table)")
    }
}
