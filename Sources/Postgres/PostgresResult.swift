@preconcurrency import CLibPQ
import Foundation

/// The rows a query returned, copied out of libpq (text format), and the
/// number of rows a command touched.
public struct PostgresResult: Sendable, Sequence {
    public let columns: [String]
    /// Type OIDs of the columns.
    public let types: [UInt32]
    public let rows: [PostgresRow]
    public let rowsAffected: Int

    public func makeIterator() -> IndexingIterator<[PostgresRow]> { rows.makeIterator() }

    /// Copies a libpq result, or throws the error it holds (SQLSTATE, message, detail).
    static func checked(_ result: OpaquePointer, retain: Bool) throws(PostgresError) -> PostgresResult {
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY else {
            func field(_ code: UInt8) -> String? { PQresultErrorField(result, Int32(code)).map { String(cString: $0) } }
            throw PostgresError(message: field(UInt8(ascii: "M")) ?? String(cString: PQresultErrorMessage(result)),
                                sqlState: field(UInt8(ascii: "C")), detail: field(UInt8(ascii: "D")))
        }
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        let types = (0..<columnCount).map { UInt32(PQftype(result, Int32($0))) }
        let index = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let rows = (0..<Int(PQntuples(result))).map { row in
            PostgresRow(columns: index, values: (0..<columnCount).map { column -> String? in
                PQgetisnull(result, Int32(row), Int32(column)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            })
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresResult(columns: columns, types: types, rows: rows, rowsAffected: affected)
    }
}

/// One row: values by column name or position, decoded to Swift types.
public struct PostgresRow: Sendable {
    let columns: [String: Int]
    /// The text of each value; nil is SQL NULL.
    public let values: [String?]

    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard values.indices.contains(column) else { throw PostgresError(message: "no column \(column)", sqlState: nil) }
        return try T.decode(postgresText: values[column])
    }

    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard let index = columns[column] else { throw PostgresError(message: "no column named \(column)", sqlState: nil) }
        return try decode(index, as: type)
    }
}
