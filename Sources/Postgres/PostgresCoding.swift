import Foundation

/// A value sent as a query parameter, in PostgreSQL's text format; nil is NULL.
/// Only parameters: the API offers no way to interpolate values into SQL.
public protocol PostgresEncodable: Sendable {
    var postgresText: String? { get }
}

/// A type a column decodes into, from PostgreSQL's text format (nil is NULL).
public protocol PostgresDecodable {
    static func decode(postgresText: String?) throws(PostgresError) -> Self
}

func mismatch<T>(_ text: String?, _ type: T.Type) -> PostgresError {
    PostgresError(message: text == nil ? "NULL where \(T.self) was expected" : "cannot read '\(text!)' as \(T.self)", sqlState: nil)
}

extension Int: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public static func decode(postgresText text: String?) throws(PostgresError) -> Int {
        guard let text, let value = Int(text) else { throw mismatch(text, Int.self) }
        return value
    }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? {
        isNaN ? "NaN" : isInfinite ? (self > 0 ? "Infinity" : "-Infinity") : String(self)
    }
    public static func decode(postgresText text: String?) throws(PostgresError) -> Double {
        switch text {
        case "NaN"?: return .nan
        case "Infinity"?: return .infinity
        case "-Infinity"?: return -.infinity
        default:
            guard let text, let value = Double(text) else { throw mismatch(text, Double.self) }
            return value
        }
    }
}

extension Decimal: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { description }
    public static func decode(postgresText text: String?) throws(PostgresError) -> Decimal {
        guard let text, let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { throw mismatch(text, Decimal.self) }
        return value
    }
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self }
    public static func decode(postgresText text: String?) throws(PostgresError) -> String {
        guard let text else { throw mismatch(text, String.self) }
        return text
    }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self ? "t" : "f" }
    public static func decode(postgresText text: String?) throws(PostgresError) -> Bool {
        switch text {
        case "t"?: return true
        case "f"?: return false
        default: throw mismatch(text, Bool.self)
        }
    }
}

/// bytea, as `\x` followed by hex digits.
public struct PostgresBytes: PostgresEncodable, PostgresDecodable, Equatable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var postgresText: String? { "\\x" + bytes.map { String(format: "%02x", $0) }.joined() }
    public static func decode(postgresText text: String?) throws(PostgresError) -> PostgresBytes {
        guard let text, text.hasPrefix("\\x"), text.count % 2 == 0 else { throw mismatch(text, PostgresBytes.self) }
        var bytes: [UInt8] = []
        var index = text.index(text.startIndex, offsetBy: 2)
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { throw mismatch(text, PostgresBytes.self) }
            bytes.append(byte)
            index = next
        }
        return PostgresBytes(bytes)
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { uuidString.lowercased() }
    public static func decode(postgresText text: String?) throws(PostgresError) -> UUID {
        guard let text, let value = UUID(uuidString: text) else { throw mismatch(text, UUID.self) }
        return value
    }
}

/// timestamp, timestamptz and date. Sessions run in UTC, so both timestamp kinds
/// read as UTC instants; a date is its midnight, UTC.
extension Date: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? {
        var seconds = time_t(timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let micros = Int(((timeIntervalSince1970 - timeIntervalSince1970.rounded(.down)) * 1_000_000).rounded())
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, min(micros, 999_999))
    }

    public static func decode(postgresText text: String?) throws(PostgresError) -> Date {
        guard let text else { throw mismatch(text, Date.self) }
        // yyyy-mm-dd[ hh:mm:ss[.ffffff]][+zz[:zz]]
        let scanner = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= scanner.count else { return nil }
            return Int(String(decoding: scanner[range], as: UTF8.self))
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { throw mismatch(text, Date.self) }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        var fraction = 0.0
        if scanner.count >= 19, let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) {
            parts.tm_hour = Int32(hour)
            parts.tm_min = Int32(minute)
            parts.tm_sec = Int32(second)
            if scanner.count > 19, scanner[19] == UInt8(ascii: ".") {
                let digits = scanner[20...].prefix { (48...57).contains($0) }
                fraction = Double("0." + String(decoding: digits, as: UTF8.self)) ?? 0
            }
        }
        return Date(timeIntervalSince1970: Double(timegm(&parts)) + fraction)
    }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? { self?.postgresText ?? nil }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresText text: String?) throws(PostgresError) -> Wrapped? {
        guard let text else { return nil }
        return try Wrapped.decode(postgresText: text)
    }
}

/// json and jsonb columns and parameters, as any Codable value.
public struct PostgresJSON<Value: Codable & Sendable>: PostgresEncodable, PostgresDecodable {
    public var value: Value
    public init(_ value: Value) { self.value = value }
    public var postgresText: String? {
        (try? JSONEncoder().encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }
    public static func decode(postgresText text: String?) throws(PostgresError) -> PostgresJSON<Value> {
        guard let text, let value = try? JSONDecoder().decode(Value.self, from: Data(text.utf8)) else { throw mismatch(text, Value.self) }
        return PostgresJSON(value)
    }
}

/// One-dimensional arrays, `{a,"b c",NULL}` in text format.
extension Array: PostgresEncodable where Element: PostgresEncodable {
    public var postgresText: String? {
        "{" + map { element in
            guard let text = element.postgresText else { return "NULL" }
            return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }.joined(separator: ",") + "}"
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    public static func decode(postgresText text: String?) throws(PostgresError) -> [Element] {
        guard let text, text.hasPrefix("{"), text.hasSuffix("}") else { throw mismatch(text, [Element].self) }
        var elements: [String?] = []
        var current = ""
        var quoted = false, wasQuoted = false, escaped = false
        for character in text.dropFirst().dropLast() {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
                wasQuoted = true
            } else if character == ",", !quoted {
                elements.append(!wasQuoted && current == "NULL" ? nil : current)
                current = ""
                wasQuoted = false
            } else {
                current.append(character)
            }
        }
        if text.count > 2 { elements.append(!wasQuoted && current == "NULL" ? nil : current) }
        var result: [Element] = []
        for element in elements { result.append(try Element.decode(postgresText: element)) }
        return result
    }
}
