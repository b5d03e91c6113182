import Foundation

/// Where and how to connect: from a URL (`postgres://user:pass@host:port/db?sslmode=...`)
/// or from the usual `PG*` environment variables, which libpq reads by itself.
public struct PostgresConfiguration: Sendable, Equatable {
    /// The libpq connection string.
    public var connectionString: String
    /// Seconds to wait for a connection.
    public var connectTimeout: Int = 5

    /// Every session runs in UTC, so timestamps decode the same everywhere.
    static let sessionOptions = "-c TimeZone=UTC"

    public init(url: String) throws(PostgresError) {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw PostgresError(message: "not a PostgreSQL URL: \(url)", sqlState: nil)
        }
        connectionString = url
    }

    /// libpq takes PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE... from the environment.
    public static func fromEnvironment() -> PostgresConfiguration {
        PostgresConfiguration(connectionString: "")
    }

    init(connectionString: String) { self.connectionString = connectionString }

    /// Parameters for `PQconnectdbParams`: the URL (expanded by libpq), then our session options.
    var keywordsAndValues: [(String, String)] {
        var pairs: [(String, String)] = []
        if !connectionString.isEmpty { pairs.append(("dbname", connectionString)) }
        pairs.append(("options", Self.sessionOptions))
        pairs.append(("connect_timeout", String(connectTimeout)))
        pairs.append(("application_name", "pulse"))
        return pairs
    }
}

/// An error from the server or the connection: SQLSTATE, message and detail when the
/// server gave them.
public struct PostgresError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    /// The five-character SQLSTATE (`23505` for a unique violation...); nil for connection errors.
    public var sqlState: String?
    public var detail: String?

    public init(message: String, sqlState: String?, detail: String? = nil) {
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
    }

    public var description: String {
        var text = sqlState.map { "\($0): \(message)" } ?? message
        if let detail { text += " (\(detail))" }
        return text
    }

    /// The server is down or unreachable: worth a 503 and a retry later.
    public var isConnectionFailure: Bool { sqlState == nil || sqlState!.hasPrefix("08") || sqlState == "57P01" }
}
