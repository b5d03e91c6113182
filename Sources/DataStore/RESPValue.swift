import NIOCore

/// A value of the Redis serialization protocol (RESP2).
public enum RESPValue: Equatable, Sendable {
    case simpleString(String)
    case error(String)
    case integer(Int)
    /// nil is the null bulk string (`$-1`).
    case bulkString([UInt8]?)
    /// nil is the null array (`*-1`).
    case array([RESPValue]?)

    public static let ok = RESPValue.simpleString("OK")
    public static let null = RESPValue.bulkString(nil)

    public static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }

    /// The bytes of a bulk or simple string, as a request's arguments are.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .simpleString(let text): Array(text.utf8)
        case .integer(let value): Array(String(value).utf8)
        default: nil
        }
    }

    /// Appends the wire form of the value.
    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .simpleString(let text):
            buffer.writeString("+\(text)\r\n")
        case .error(let text):
            buffer.writeString("-\(text)\r\n")
        case .integer(let value):
            buffer.writeString(":\(value)\r\n")
        case .bulkString(nil):
            buffer.writeString("$-1\r\n")
        case .bulkString(let bytes?):
            buffer.writeString("$\(bytes.count)\r\n")
            buffer.writeBytes(bytes)
            buffer.writeString("\r\n")
        case .array(nil):
            buffer.writeString("*-1\r\n")
        case .array(let values?):
            buffer.writeString("*\(values.count)\r\n")
            for value in values { value.write(to: &buffer) }
        }
    }
}

/// A request that breaks the protocol; the connection answers it once and closes.
public struct RESPProtocolError: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Reads requests from a byte stream: arrays of bulk strings as clients send them,
/// and inline commands (`PING\r\n`) as a person types them. Declared lengths over
/// the limits are refused before any memory is reserved for them.
public struct RESPRequestParser: Sendable {
    public var maxBulkLength: Int
    public var maxArgumentCount: Int
    public var maxInlineLength: Int

    public init(maxBulkLength: Int = 512 << 20, maxArgumentCount: Int = 1 << 20, maxInlineLength: Int = 64 << 10) {
        self.maxBulkLength = maxBulkLength
        self.maxArgumentCount = maxArgumentCount
        self.maxInlineLength = maxInlineLength
    }

    /// Before AUTH (when a password is set) a client may send only small requests, as
    /// with Redis: at most this many arguments, each at most `maxUnauthenticatedBulk` bytes.
    public static let maxUnauthenticatedArguments = 10
    public static let maxUnauthenticatedBulk = 16384

    /// The next complete request's arguments, consuming its bytes; nil when more bytes are needed.
    public func next(_ buffer: inout ByteBuffer, authenticated: Bool = true) throws(RESPProtocolError) -> [[UInt8]]? {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        if first != UInt8(ascii: "*") { return try inline(&buffer) }
        var view = buffer
        guard let count = try line(&view, prefix: "*").map(Self.integer) else { return nil }
        guard let count, count <= maxArgumentCount else {
            throw RESPProtocolError("Protocol error: invalid multibulk length")
        }
        guard authenticated || count <= Self.maxUnauthenticatedArguments else {
            throw RESPProtocolError("Protocol error: unauthenticated multibulk length")
        }
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(max(0, min(count, 1024)))
        for _ in 0..<max(0, count) {
            guard let header = try line(&view, prefix: "$") else { return nil }
            guard let length = Self.integer(header), length >= 0, length <= maxBulkLength else {
                throw RESPProtocolError("Protocol error: invalid bulk length")
            }
            guard authenticated || length <= Self.maxUnauthenticatedBulk else {
                throw RESPProtocolError("Protocol error: unauthenticated bulk length")
            }
            guard view.readableBytes >= length + 2, let bytes = view.readBytes(length: length) else { return nil }
            guard view.readInteger(as: UInt16.self) == 0x0D0A else {
                throw RESPProtocolError("Protocol error: expected '\\r\\n' after a bulk string")
            }
            arguments.append(bytes)
        }
        buffer = view
        return arguments
    }

    /// A line after `prefix`, without its CRLF; nil until the whole line is there.
    private func line(_ buffer: inout ByteBuffer, prefix: Character) throws(RESPProtocolError) -> [UInt8]? {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maxInlineLength { throw RESPProtocolError("Protocol error: too big line") }
            return nil
        }
        let length = newline - buffer.readerIndex
        guard var line = buffer.readBytes(length: length + 1) else { return nil }
        line.removeLast()
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard line.first == prefix.asciiValue else {
            throw RESPProtocolError("Protocol error: expected '\(prefix)', got '\(String(decoding: line.prefix(1), as: UTF8.self))'")
        }
        return Array(line.dropFirst())
    }

    private func inline(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> [[UInt8]]? {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maxInlineLength { throw RESPProtocolError("Protocol error: too big inline request") }
            return nil
        }
        let length = newline - buffer.readerIndex
        let line = buffer.readBytes(length: length + 1) ?? []
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.split(separator: " ", omittingEmptySubsequences: true).map { Array($0.utf8) }
    }

    static func integer(_ bytes: [UInt8]) -> Int? { Int(String(decoding: bytes, as: UTF8.self)) }
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
