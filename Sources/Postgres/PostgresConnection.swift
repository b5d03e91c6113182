@preconcurrency import CLibPQ
import Foundation
import NIOConcurrencyHelpers

/// One libpq connection, used by one caller at a time.
///
/// Two ways to wait, one API: `*Blocking` calls block the calling thread inside
/// libpq (thread mode: only that pool thread waits); the `async` calls use libpq's
/// non-blocking API (`PQconnectStart`/`PQconnectPoll`, `PQsendQueryParams`,
/// `PQflush`, `PQconsumeInput`, `PQisBusy`, `PQgetResult`) and suspend until the
/// connection's socket is ready, so an event loop never blocks on the database.
// @unchecked: libpq allows a connection on any thread, one caller at a time, which
// the pool guarantees by handing it out whole.
public final class PostgresConnection: @unchecked Sendable {
    private let connection: OpaquePointer

    private init(_ connection: OpaquePointer) { self.connection = connection }

    deinit { PQfinish(connection) }

    // MARK: - Connecting

    public static func connectBlocking(_ configuration: PostgresConfiguration) throws(PostgresError) -> PostgresConnection {
        let pointer = withParameters(configuration) { keywords, values in PQconnectdbParams(keywords, values, 1) }
        guard let pointer else { throw PostgresError(message: "out of memory", sqlState: nil) }
        guard PQstatus(pointer) == CONNECTION_OK else {
            let error = PostgresError(message: lastError(pointer), sqlState: nil)
            PQfinish(pointer)
            throw error
        }
        return PostgresConnection(pointer)
    }

    public static func connect(_ configuration: PostgresConfiguration) async throws -> PostgresConnection {
        let pointer = withParameters(configuration) { keywords, values in PQconnectStartParams(keywords, values, 1) }
        guard let pointer, PQstatus(pointer) != CONNECTION_BAD else {
            let message = pointer.map(lastError) ?? "out of memory"
            if let pointer { PQfinish(pointer) }
            throw PostgresError(message: message, sqlState: nil)
        }
        let connection = PostgresConnection(pointer)
        let deadline = Date().addingTimeInterval(Double(configuration.connectTimeout))
        var state = PGRES_POLLING_WRITING
        while true {
            switch state {
            case PGRES_POLLING_OK:
                guard PQsetnonblocking(pointer, 1) == 0 else { throw connection.error() }
                return connection
            case PGRES_POLLING_FAILED:
                throw connection.error()
            case PGRES_POLLING_READING:
                try await connection.wait(.read, until: deadline)
            default:
                try await connection.wait(.write, until: deadline)
            }
            state = PQconnectPoll(pointer)
        }
    }

    private static func withParameters<R>(_ configuration: PostgresConfiguration,
                                          _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let pairs = configuration.keywordsAndValues
        let keywords = pairs.map { strdup($0.0) } + [nil]
        let values = pairs.map { strdup($0.1) } + [nil]
        defer { (keywords + values).forEach { free($0) } }
        let constKeywords = keywords.map { UnsafePointer($0) }
        let constValues = values.map { UnsafePointer($0) }
        return constKeywords.withUnsafeBufferPointer { k in constValues.withUnsafeBufferPointer { v in body(k.baseAddress!, v.baseAddress!) } }
    }

    // MARK: - Querying

    /// Runs `sql` with `$1...` parameters on the calling thread, blocking it until the result.
    public func queryBlocking(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws(PostgresError) -> PostgresResult {
        let result = withEncoded(parameters) { count, values in
            PQexecParams(connection, sql, count, nil, values, nil, nil, 0)
        }
        return try collect(result)
    }

    /// Runs `sql` with `$1...` parameters, suspending while the server works.
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresResult {
        let sent = withEncoded(parameters) { count, values in
            PQsendQueryParams(connection, sql, count, nil, values, nil, nil, 0)
        }
        guard sent == 1 else { throw error() }
        // Push the query out; PQflush returns 1 while data remains to send.
        while true {
            let flushed = PQflush(connection)
            if flushed == 0 { break }
            guard flushed == 1 else { throw error() }
            try await wait(.write, until: nil, cancellable: false)
        }
        var results: [OpaquePointer] = []
        defer { results.forEach { PQclear($0) } }
        while true {
            while PQisBusy(connection) == 1 {
                try await wait(.read, until: nil, cancellable: false)
                guard PQconsumeInput(connection) == 1 else { throw error() }
            }
            guard let result = PQgetResult(connection) else { break }
            results.append(result)
        }
        guard let last = results.last else { throw PostgresError(message: "no result", sqlState: nil) }
        // The last result carries the outcome; an error anywhere fails the query.
        for result in results where isError(result) { return try PostgresResult.checked(result, retain: true) }
        return try PostgresResult.checked(last, retain: true)
    }

    private func collect(_ result: OpaquePointer?) throws(PostgresError) -> PostgresResult {
        guard let result else { throw error() }
        defer { PQclear(result) }
        return try PostgresResult.checked(result, retain: true)
    }

    private func isError(_ result: OpaquePointer) -> Bool {
        let status = PQresultStatus(result)
        return status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE
    }

    private func withEncoded<R>(_ parameters: [any PostgresEncodable],
                                _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        let texts = parameters.map { $0.postgresText.map { strdup($0) } ?? nil }
        defer { texts.forEach { free($0) } }
        let pointers = texts.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer { body(Int32(parameters.count), $0.baseAddress) }
    }

    // MARK: - Waiting on the socket

    enum Readiness { case read, write }

    /// Suspends until the connection's socket is ready, or throws past `deadline`.
    private func wait(_ readiness: Readiness, until deadline: Date?, cancellable: Bool = true) async throws {
        let fd = PQsocket(connection)
        guard fd >= 0 else { throw error() }
        try await SocketPoller.shared.wait(fd: fd, for: readiness == .read ? .read : .write,
                                           timeout: deadline.map { $0.timeIntervalSinceNow }, cancellable: cancellable)
    }

    func error() -> PostgresError { PostgresError(message: Self.lastError(connection), sqlState: nil) }

    func waitReadable() async throws { try await wait(.read, until: nil) }

    func consumeInput() -> Bool { PQconsumeInput(connection) == 1 }

    /// Notifications libpq has already read.
    func drainNotifications() -> [PostgresNotification] {
        var received: [PostgresNotification] = []
        while let notice = PQnotifies(connection) {
            received.append(PostgresNotification(channel: String(cString: notice.pointee.relname),
                                                 payload: String(cString: notice.pointee.extra), senderPID: notice.pointee.be_pid))
            PQfreemem(notice)
        }
        return received
    }

    static func lastError(_ connection: OpaquePointer) -> String {
        String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A handle that cancels whatever runs on this connection, from any thread:
    /// made before a query starts, used when its caller goes away.
    public func makeCanceller() -> PostgresCanceller? {
        PQgetCancel(connection).map(PostgresCanceller.init)
    }

    /// The server's process for this connection, for pg_cancel_backend and tests.
    public var backendPID: Int32 { PQbackendPID(connection) }

    public var isHealthy: Bool { PQstatus(connection) == CONNECTION_OK }
}

/// Asks the server to cancel the running query.
// @unchecked: libpq documents PQcancel as safe from any thread, signal handlers included.
public final class PostgresCanceller: @unchecked Sendable {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }

    deinit { PQfreeCancel(handle) }

    @discardableResult
    public func cancel() -> Bool {
        var reason = [CChar](repeating: 0, count: 256)
        return PQcancel(handle, &reason, Int32(reason.count)) == 1
    }
}
