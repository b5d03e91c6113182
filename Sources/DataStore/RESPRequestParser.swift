import NIOCore

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

    /// The next complete request's arguments, the name first, consuming its bytes;
    /// nil when more bytes are needed.
    public func next(_ buffer: inout ByteBuffer, authenticated: Bool = true) throws(RESPProtocolError) -> [[UInt8]]? {
        var names = CommandNames()
        guard let request = try next(&buffer, names: &names, authenticated: authenticated) else { return nil }
        guard let name = request.name else { return [] }
        return [name] + request.arguments
    }

    /// The next complete request, consuming its bytes; nil when more bytes are needed.
    /// Its name comes from `names` when the connection sent it lately: the same
    /// array again, so a repeated command allocates for its arguments only.
    public func next(_ buffer: inout ByteBuffer, names: inout CommandNames,
                     authenticated: Bool = true) throws(RESPProtocolError) -> RESPRequest? {
        var arguments: [[UInt8]] = []
        return try next(&buffer, names: &names, reusing: &arguments, authenticated: authenticated)
    }

    /// The same, its arguments gathered in `reusing`'s storage: a connection that
    /// passes the same array each time allocates no new one for a request, as long
    /// as the last request's arguments were not kept (a queued MULTI keeps its own).
    public func next(_ buffer: inout ByteBuffer, names: inout CommandNames, reusing arguments: inout [[UInt8]],
                     authenticated: Bool = true) throws(RESPProtocolError) -> RESPRequest? {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        if first != UInt8(ascii: "*") {
            guard var words = try inline(&buffer) else { return nil }
            guard !words.isEmpty else { return RESPRequest(name: nil, arguments: []) }
            let name = words.removeFirst()
            return RESPRequest(name: name, arguments: words)
        }
        // Scanned in place: only the arguments themselves are copied out.
        arguments.removeAll(keepingCapacity: true)
        switch buffer.withUnsafeReadableBytes({ scanArray($0, names: &names, arguments: &arguments, authenticated: authenticated) }) {
        case .incomplete:
            return nil
        case .failed(let error):
            throw error
        case .complete(let request, let consumed):
            buffer.moveReaderIndex(forwardBy: consumed)
            return request
        }
    }

    private enum Scan {
        case incomplete
        case failed(RESPProtocolError)
        case complete(RESPRequest, consumed: Int)
    }

    private enum Header {
        case incomplete
        case failed(RESPProtocolError)
        /// The line's number; nil when it is not one.
        case number(Int?)
    }

    private func scanArray(_ bytes: UnsafeRawBufferPointer, names: inout CommandNames, arguments: inout [[UInt8]],
                           authenticated: Bool) -> Scan {
        var index = 0
        let count: Int?
        switch line(bytes, &index, prefix: UInt8(ascii: "*")) {
        case .incomplete: return .incomplete
        case .failed(let error): return .failed(error)
        case .number(let number): count = number
        }
        guard let count, count <= maxArgumentCount else { return .failed(RESPProtocolError("Protocol error: invalid multibulk length")) }
        guard authenticated || count <= Self.maxUnauthenticatedArguments else {
            return .failed(RESPProtocolError("Protocol error: unauthenticated multibulk length"))
        }
        var name: [UInt8]?
        if count > 1 { arguments.reserveCapacity(min(count - 1, 1024)) }
        for argument in 0..<max(0, count) {
            let declared: Int?
            switch line(bytes, &index, prefix: UInt8(ascii: "$")) {
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
            let value = UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)])
            if argument == 0 { name = names.intern(value) } else { arguments.append(Array(value)) }
            guard bytes[index + length] == 0x0D, bytes[index + length + 1] == 0x0A else {
                return .failed(RESPProtocolError("Protocol error: expected '\\r\\n' after a bulk string"))
            }
            index += length + 2
        }
        return .complete(RESPRequest(name: name, arguments: arguments), consumed: index)
    }

    /// A header line's number: the common form in one pass, any other the long way.
    private func line(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, prefix: UInt8) -> Header {
        if let number = Self.length(bytes, &index, prefix: prefix) { return .number(number) }
        return header(bytes, &index, prefix: prefix)
    }

    /// The common header line, `prefix` (`*` or `$`) then 1 to 18 digits without a
    /// leading zero then CRLF, read in one pass (moving `index` past it); nil for
    /// anything else, which `header` reads (and judges) the long way, alike.
    private static func length(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, prefix: UInt8) -> Int? {
        var position = index
        guard position < bytes.count, bytes[position] == prefix else { return nil }
        position += 1
        var length = 0
        var digits = 0
        while position < bytes.count {
            let digit = bytes[position] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            if digits == 1 && length == 0 { return nil }   // a leading zero
            length = length &* 10 &+ Int(digit)
            digits += 1
            position += 1
        }
        guard digits > 0, digits <= 18, position + 1 < bytes.count,
              bytes[position] == 0x0D, bytes[position + 1] == 0x0A else { return nil }
        index = position + 2
        return length
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

/// One request: its command name (nil for an empty array or line, which is
/// skipped) and the arguments after it.
public struct RESPRequest: Sendable {
    public var name: [UInt8]?
    public var arguments: [[UInt8]]
}

/// The command names a connection sent lately, each kept as one array: a request
/// that repeats one takes it again (a retain) rather than allocating its copy.
/// Only names as short as commands are kept: a client's first argument may be up to
/// 512 MB, and eight of those must not outlive their requests.
public struct CommandNames: Sendable {
    private var recent: [[UInt8]] = []
    private static let kept = 8
    static let longestKept = 32

    public init() {}

    mutating func intern(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        guard bytes.count <= Self.longestKept else { return Array(bytes) }
        for name in recent where name.count == bytes.count && name.withUnsafeBytes({ $0.elementsEqual(bytes) }) {
            return name
        }
        let name = Array(bytes)
        // The newest first; the oldest goes when a ninth comes.
        if recent.count == Self.kept { recent.removeLast() }
        recent.insert(name, at: 0)
        return name
    }
}
