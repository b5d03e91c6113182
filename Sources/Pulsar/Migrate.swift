import ArgumentParser
import Foundation
import Postgres

/// `pulse migrate`: creates the tables the demo needs, idempotently (the seeds'
/// `manage.py migrate`).
struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create the demo's tables in PostgreSQL (safe to run again).")

    @Option(help: "postgres://USER[:PASSWORD]@HOST[:PORT]/DB, or env for the PG* environment variables.")
    var database: String

    static let statements = [
        """
        CREATE TABLE IF NOT EXISTS chat_messages (
            id bigserial PRIMARY KEY,
            body jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX IF NOT EXISTS chat_messages_created_at ON chat_messages (created_at)",
    ]

    func run() throws {
        let configuration: PostgresConfiguration
        do {
            configuration = database == "env" ? .fromEnvironment() : try PostgresConfiguration(url: database)
        } catch {
            throw ValidationError("--database: \(error)")
        }
        do {
            let connection = try PostgresConnection.connectBlocking(configuration)
            for statement in Self.statements { _ = try connection.queryBlocking(statement) }
            print("migrated: chat_messages is ready")
        } catch {
            FileHandle.standardError.write(Data("pulse migrate: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
