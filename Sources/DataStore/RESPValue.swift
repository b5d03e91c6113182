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
        // Scanned in place: only the arguments themselves are copied out.
        switch buffer.withUnsafeReadableBytes({ scanArray($0, authenticated: authenticated) }) {
        case .incomplete:
            return nil
        case .failed(let error):
            throw error
        case .complete(let arguments, let consumed):
            buffer.moveReaderIndex(forwardBy: consumed)
            return arguments
        }
    }

    private enum Scan {
        case incomplete
        case failed(RESPProtocolError)
        case complete([[UInt8]], consumed: Int)
    }

    private enum Header {
        case incomplete
        case failed(RESPProtocolError)
        /// The line's number; nil when it is not one.
        case number(Int?)
    }

    private func scanArray(_ bytes: UnsafeRawBufferPointer, authenticated: Bool) -> Scan {
        var index = 0
        let count: Int?
        switch header(bytes, &index, prefix: UInt8(ascii: "*")) {
        case .incomplete: return .incomplete
        case .failed(let error): return .failed(error)
        case .number(let number): count = number
        }
        guard let count, count <= maxArgumentCount else { return .failed(RESPProtocolError("Protocol error: invalid multibulk length")) }
        guard authenticated || count <= Self.maxUnauthenticatedArguments else {
            return .failed(RESPProtocolError("Protocol error: unauthenticated multibulk length"))
        }
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(max(0, min(count, 1024)))
        for _ in 0..<max(0, count) {
            let declared: Int?
            switch header(bytes, &index, prefix: UInt8(ascii: "$")) {
            case .incomplete: return .incomplete
            case .failed(let error): return .failed(error)
            case .number(let number): declared = number
            }
            guard let length = declared, length >= 0, length <= maxBulkLength else {
                return .failed(RESPProtocolError("Protocol error: invalid bulk length"))
            }
            guard authenticated || length <= Self.maxUnauthenticatedBulk else {
                return .failed(RESPProtocolError("Protocol error: unauthenticated bulk length"))
            }
            guard bytes.count - index >= length + 2 else { return .incomplete }
            arguments.append(Array(UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)])))
            guard bytes[index + length] == 0x0D, bytes[index + length + 1] == 0x0A else {
                return .failed(RESPProtocolError("Protocol error: expected '\\r\\n' after a bulk string"))
            }
            index += length + 2
        }
        return .complete(arguments, consumed: index)
    }

    /// The number on the line at `index` after `prefix` (a CR before the LF is
    /// optional), moving `index` past the line.
    private func header(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, prefix: UInt8) -> Header {
        let start = index
        var newline = start
        while newline < bytes.count, bytes[newline] != 0x0A { newline += 1 }
        guard newline < bytes.count else {
            return bytes.count - start > maxInlineLength ? .failed(RESPProtocolError("Protocol error: too big line")) : .incomplete
        }
        index = newline + 1
        var end = newline
        if end > start, bytes[end - 1] == 0x0D { end -= 1 }
        guard end > start, bytes[start] == prefix else {
            let got = end > start ? String(decoding: [bytes[start]], as: UTF8.self) : ""
            return .failed(RESPProtocolError("Protocol error: expected '\(Character(Unicode.Scalar(prefix)))', got '\(got)'"))
        }
        return .number(Self.integer(UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<end])))
    }

    private func inline(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> [[UInt8]]? {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maxInlineLength { throw RESPProtocolError("Protocol error: too big inline request") }
            return nil
        }
        let length = newline - buffer.readerIndex
        var line = buffer.readBytes(length: length + 1) ?? []
        line.removeLast()                                                    // the newline
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard let words = Self.splitInline(line) else { throw RESPProtocolError("Protocol error: unbalanced quotes in request") }
        return words
    }

    /// An inline request's words as Redis splits them (sdssplitargs): spaces
    /// separate, "double quotes" take \n \r \t \b \a \xHH and \" escapes, 'single
    /// quotes' take \'; a closing quote must end the word. Nil when quotes do not balance.
    static func splitInline(_ line: [UInt8]) -> [[UInt8]]? {
        var words: [[UInt8]] = []
        var index = 0
        while true {
            while index < line.count, isInlineSpace(line[index]) { index += 1 }
            guard index < line.count else { return words }
            guard let (word, next) = inlineWord(line, from: index) else { return nil }
            words.append(word)
            index = next
        }
    }

    /// A separator between inline words: what C's isspace calls a space.
    private static func isInlineSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }

    /// The escapes a double-quoted inline word takes, besides \xHH; any other
    /// escaped byte stands for itself.
    private static let inlineEscapes: [UInt8: UInt8] = [UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
                                                         UInt8(ascii: "b"): 0x08, UInt8(ascii: "a"): 0x07]

    private static func inlineWord(_ line: [UInt8], from start: Int) -> ([UInt8], Int)? {
        enum Quote { case none, double, single }
        var word: [UInt8] = []
        var quote = Quote.none
        var index = start
        let at = { (offset: Int) -> UInt8? in index + offset < line.count ? line[index + offset] : nil }
        // A closing quote must end the word: the line ends or a space follows it.
        let closesWord = { at(1).map(isInlineSpace) ?? true }
        while true {
            guard let byte = at(0) else { return quote == .none ? (word, index) : nil }
            switch quote {
            case .none:
                if isInlineSpace(byte) { return (word, index) }
                if byte == UInt8(ascii: "\"") { quote = .double } else if byte == UInt8(ascii: "'") { quote = .single } else { word.append(byte) }
            case .double:
                if byte == UInt8(ascii: "\\"), at(1) == UInt8(ascii: "x"), let high = at(2).flatMap(hexValue), let low = at(3).flatMap(hexValue) {
                    word.append(high << 4 | low)
                    index += 3
                } else if byte == UInt8(ascii: "\\"), let escaped = at(1) {
                    word.append(inlineEscapes[escaped] ?? escaped)
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    return closesWord() ? (word, index + 1) : nil
                } else {
                    word.append(byte)
                }
            case .single:
                if byte == UInt8(ascii: "\\"), at(1) == UInt8(ascii: "'") {
                    word.append(UInt8(ascii: "'"))
                    index += 1
                } else if byte == UInt8(ascii: "'") {
                    return closesWord() ? (word, index + 1) : nil
                } else {
                    word.append(byte)
                }
            }
            index += 1
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func integer(_ bytes: [UInt8]) -> Int? { bytes.withUnsafeBytes { integer($0) } }

    /// A decimal integer as Swift's `Int(String)` reads one: an optional sign, then at
    /// least one digit and nothing else; nil past Int's range.
    static func integer(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative || bytes.first == UInt8(ascii: "+") { index = 1 }
        guard index < bytes.count else { return nil }
        var value = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = negative ? shifted.subtractingReportingOverflow(Int(digit)) : shifted.addingReportingOverflow(Int(digit))
            guard !overflowA, !overflowB else { return nil }
            value = next
            index += 1
        }
        return value
    }
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
