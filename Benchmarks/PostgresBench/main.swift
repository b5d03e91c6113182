// Side by side, in one run: SELECT 1 queries/s and pg_sleep(0.05) concurrency with
// 100 clients, for Pulsar's libpq client in each mode and for postgres-nio.
// Built and run by scripts/bench-postgres (it makes a package around this file).
import Dispatch
import Foundation
import Logging
import Postgres
import PostgresNIO

let url = CommandLine.arguments[1]
let port = Int(URLComponents(string: url)!.port!)
let seconds = Double(CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : "5")!

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() { lock.lock(); value += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return value }
}

/// Blocking libpq on OS threads, one connection each: thread mode.
func threads(_ clients: Int, _ sql: String) throws -> Double {
    let counter = Counter()
    let deadline = Date().addingTimeInterval(seconds)
    let group = DispatchGroup()
    let configuration = try Postgres.PostgresConfiguration(url: url)
    for _ in 0..<clients {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            guard let connection = try? Postgres.PostgresConnection.connectBlocking(configuration) else { return }
            while Date() < deadline {
                if (try? connection.queryBlocking(sql)) != nil { counter.add() }
            }
        }
    }
    group.wait()
    return Double(counter.count) / seconds
}

/// Non-blocking libpq, one connection per task: cooperative mode.
func tasks(_ clients: Int, _ sql: String) async throws -> Double {
    let counter = Counter()
    let deadline = Date().addingTimeInterval(seconds)
    let configuration = try Postgres.PostgresConfiguration(url: url)
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<clients {
            group.addTask {
                guard let connection = try? await Postgres.PostgresConnection.connect(configuration) else { return }
                while Date() < deadline {
                    if (try? await connection.query(sql)) != nil { counter.add() }
                }
            }
        }
    }
    return Double(counter.count) / seconds
}

/// postgres-nio's pooled client, as many connections as clients.
func postgresNIO(_ clients: Int, _ sql: String) async throws -> Double {
    var configuration = PostgresNIO.PostgresClient.Configuration(host: "127.0.0.1", port: port, username: "pulse", password: nil,
                                                                 database: "postgres", tls: .disable)
    configuration.options.maximumConnections = clients
    let client = PostgresNIO.PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "bench"))
    let counter = Counter()
    let deadline = Date().addingTimeInterval(seconds)
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        await withTaskGroup(of: Void.self) { workers in
            for _ in 0..<clients {
                workers.addTask {
                    while Date() < deadline {
                        if (try? await client.query(PostgresQuery(unsafeSQL: sql))) != nil { counter.add() }
                    }
                }
            }
        }
        group.cancelAll()
    }
    return Double(counter.count) / seconds
}

func line(_ label: String, _ value: Double) {
    print(label.padding(toLength: 50, withPad: " ", startingAt: 0) + String(format: "%10.0f", value))
}

print("postgres bench, \(Int(seconds)) s per run (release)")
line("SELECT 1, 10 clients, pulsar thread mode", try threads(10, "SELECT 1"))
line("SELECT 1, 10 clients, pulsar cooperative mode", try await tasks(10, "SELECT 1"))
line("SELECT 1, 10 clients, postgres-nio", try await postgresNIO(10, "SELECT 1"))
line("pg_sleep(0.05), 100 clients, pulsar thread", try threads(100, "SELECT pg_sleep(0.05)"))
line("pg_sleep(0.05), 100 clients, pulsar cooperative", try await tasks(100, "SELECT pg_sleep(0.05)"))
line("pg_sleep(0.05), 100 clients, postgres-nio", try await postgresNIO(100, "SELECT pg_sleep(0.05)"))
print("(queries/s; pg_sleep's ceiling with 100 clients is 2,000/s)")
