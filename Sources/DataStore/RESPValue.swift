import NIOCore

/// A value of the Redis serialization protocol. The store's replies say what they
/// are in RESP3's terms (a double, a map, a set, a push); each is written as RESP2
/// writes it to a client that did not ask for RESP3 (HELLO 3), as Redis does.
public enum RESPValue: Equatable, Sendable {
    case simpleString(String)
    case error(String)
    case integer(Int)
    /// nil is the null bulk string (`$-1`; RESP3's null `_`).
    case bulkString([UInt8]?)
    /// A bulk string of up to 7 bytes as the keyspace keeps it, in one word: GET of a
    /// short value allocates nothing. Written as `bulkString` is.
    case shortBulk(ShortString)
    /// nil is the null array (`*-1`; RESP3's null `_`).
    case array([RESPValue]?)
    /// A score: `,2.5` in RESP3, the bulk string "2.5" in RESP2.
    case double(Double)
    /// Keys and values one after the other: `%` in RESP3, a flat array in RESP2.
    case map([RESPValue])
    /// `~` in RESP3, an array in RESP2.
    case set([RESPValue])
    /// Out-of-band data (pub/sub messages): `>` in RESP3, an array in RESP2.
    case push([RESPValue])
    /// Text for people (INFO, CLIENT LIST): `=N\r\ntxt:...` in RESP3, a bulk string in RESP2.
    case verbatim(String)
    /// Pairs one after the other (member, score): an array of two-element arrays in
    /// RESP3, a flat array in RESP2.
    case pairs([RESPValue])
    /// Keys and values one after the other that RESP2 writes as two-element arrays
    /// (XREAD's streams): a map in RESP3.
    case keyedArrays([RESPValue])

    public static let ok = RESPValue.simpleString("OK")
    public static let null = RESPValue.bulkString(nil)

    public static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }

    /// An array of pairs as RESP3 nests them (WITHSCORES, WITHVALUES), when `paired`.
    func pairedIf(_ paired: Bool) -> RESPValue {
        guard paired, case .array(let values?) = self else { return self }
        return .pairs(values)
    }

    public var isError: Bool {
        if case .error = self { true } else { false }
    }

    /// The bytes of a bulk or simple string, as a request's arguments are.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .shortBulk(let short): short.bytes
        case .simpleString(let text): Array(text.utf8)
        case .integer(let value): Commands.decimal(value)
        case .double(let value): Array(Commands.format(value).utf8)
        case .verbatim(let text): Array(text.utf8)
        default: nil
        }
    }

    /// Appends the wire form of the value, in RESP2 or (`resp3`) RESP3.
    public func write(to buffer: inout ByteBuffer, resp3: Bool = false) {
        switch self {
        case .simpleString("OK"):
            buffer.writeStaticString("+OK\r\n")
        case .simpleString(let text):
            buffer.writeInteger(UInt8(ascii: "+"))
            buffer.writeString(text)
            buffer.writeInteger(Self.crlf)
        case .error(let text):
            // Key names quoted in an error may hold line breaks: spaces, as Redis writes them.
            buffer.writeString("-")
            buffer.writeBytes(text.utf8.map { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") ? UInt8(ascii: " ") : $0 })
            buffer.writeString("\r\n")
        case .integer(let value):
            Self.writeLine(UInt8(ascii: ":"), value, to: &buffer)
        case .bulkString(nil), .array(nil):
            buffer.writeString(resp3 ? "_\r\n" : self == .null ? "$-1\r\n" : "*-1\r\n")
        case .bulkString(let bytes?):
            Self.writeLine(UInt8(ascii: "$"), bytes.count, payload: bytes, to: &buffer)
        case .shortBulk(let short):
            Self.writeShortBulk(short, to: &buffer)
        case .array(let values?):
            if !Self.writeBulkArray(values, to: &buffer) { Self.write(values, as: "*", to: &buffer, resp3: resp3) }
        case .double(let value):
            let text = Commands.format(value)
            buffer.writeString(resp3 ? ",\(text)\r\n" : "$\(text.utf8.count)\r\n\(text)\r\n")
        case .map(let values):
            if resp3 {
                buffer.writeString("%\(values.count / 2)\r\n")
                for value in values { value.write(to: &buffer, resp3: true) }
            } else {
                Self.write(values, as: "*", to: &buffer, resp3: false)
            }
        case .set(let values):
            Self.write(values, as: resp3 ? "~" : "*", to: &buffer, resp3: resp3)
        case .push(let values):
            Self.write(values, as: resp3 ? ">" : "*", to: &buffer, resp3: resp3)
        case .verbatim(let text):
            if resp3 {
                buffer.writeString("=\(text.utf8.count + 4)\r\ntxt:\(text)\r\n")
            } else {
                RESPValue.bulk(text).write(to: &buffer)
            }
        case .keyedArrays(let values):
            if resp3 {
                RESPValue.map(values).write(to: &buffer, resp3: true)
            } else {
                Self.writeNested(values, to: &buffer, resp3: false)
            }
        case .pairs(let values):
            if resp3 {
                Self.writeNested(values, to: &buffer, resp3: true)
            } else {
                Self.write(values, as: "*", to: &buffer, resp3: false)
            }
        }
    }
}

/// A request that breaks the protocol; the connection answers it once and closes.
public struct RESPProtocolError: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

import Foundation

extension RESPValue {
    /// Reads one reply from `buffer`, consuming it; nil until it is complete.
    public static func parse(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        var view = buffer
        guard let value = try parseValue(&view) else { return nil }
        buffer = view
        return value
    }

    private static func parseValue(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        guard let line = readLine(&buffer), let kind = line.first else { return nil }
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch kind {
        case UInt8(ascii: "+"): return .simpleString(rest)
        case UInt8(ascii: "-"): return .error(rest)
        case UInt8(ascii: ":"):
            guard let value = Int(rest) else { throw RESPProtocolError("Protocol error: bad integer") }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = Int(rest) else { throw RESPProtocolError("Protocol error: bad bulk length") }
            if length < 0 { return .bulkString(nil) }
            guard length <= 512 << 20 else { throw RESPProtocolError("Protocol error: bulk length over 512 MiB") }
            guard buffer.readableBytes >= length + 2, let bytes = buffer.readBytes(length: length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 2)
            return .bulkString(bytes)
        case UInt8(ascii: "*"):
            guard let count = Int(rest) else { throw RESPProtocolError("Protocol error: bad array length") }
            if count < 0 { return .array(nil) }
            var values: [RESPValue] = []
            for _ in 0..<count {
                guard let value = try parseValue(&buffer) else { return nil }
                values.append(value)
            }
            return .array(values)
        default:
            throw RESPProtocolError("Protocol error: unexpected '\(String(decoding: [kind], as: UTF8.self))'")
        }
    }

    private static func readLine(_ buffer: inout ByteBuffer) -> [UInt8]? {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        var line = buffer.readBytes(length: newline - buffer.readerIndex + 1)!
        line.removeLast()
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line
    }

    /// A request as clients send it: an array of bulk strings.
    public static func command(_ words: [[UInt8]]) -> RESPValue { .array(words.map { .bulkString($0) }) }

    /// The value as text, when it is a string or a number.
    public var string: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
}
