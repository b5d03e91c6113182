/// A stream entry's ID, `ms-seq`, two unsigned 64-bit halves ordered as one 128-bit number.
public struct StreamID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var ms: UInt64
    public var seq: UInt64

    public init(ms: UInt64, seq: UInt64) {
        self.ms = ms
        self.seq = seq
    }

    public static let zero = StreamID(ms: 0, seq: 0)
    public static let max = StreamID(ms: .max, seq: .max)

    public static func < (lhs: StreamID, rhs: StreamID) -> Bool { (lhs.ms, lhs.seq) < (rhs.ms, rhs.seq) }

    public var description: String { "\(ms)-\(seq)" }
    var reply: RESPValue { .bulk(description) }

    /// The next ID, nil past the last possible one (Redis's streamIncrID).
    var successor: StreamID? {
        if seq < .max { return StreamID(ms: ms, seq: seq + 1) }
        return ms < .max ? StreamID(ms: ms + 1, seq: 0) : nil
    }

    /// The previous ID, nil before 0-0 (streamDecrID).
    var predecessor: StreamID? {
        if seq > 0 { return StreamID(ms: ms, seq: seq - 1) }
        return ms > 0 ? StreamID(ms: ms - 1, seq: .max) : nil
    }

    static let invalid = CommandError(message: "ERR Invalid stream ID specified as stream command argument")

    /// What an ID argument asked for: `-` and `+` (unless `strict`), `ms` alone (the
    /// sequence is `missingSequence`), `ms-seq`, and for XADD `ms-*` (`sequenceGiven` false).
    struct Parsed {
        var id: StreamID
        var sequenceGiven = true
    }

    /// Reads an ID as Redis's streamGenericParseIDOrReply does: as a C string of at
    /// most 127 bytes, each half by string2ull (strtoull's leniency included).
    static func parse(_ bytes: [UInt8], missingSequence: UInt64 = 0, strict: Bool = false,
                      allowAutoSequence: Bool = false) throws(CommandError) -> Parsed {
        guard bytes.count <= 127 else { throw invalid }
        let text = bytes.prefix { $0 != 0 }
        if text.count == 1, text.first == UInt8(ascii: "-") || text.first == UInt8(ascii: "+") {
            guard !strict else { throw invalid }
            return Parsed(id: text.first == UInt8(ascii: "-") ? .zero : .max)
        }
        guard let dash = text.firstIndex(of: UInt8(ascii: "-")) else {
            guard let ms = unsigned(text) else { throw invalid }
            return Parsed(id: StreamID(ms: ms, seq: missingSequence))
        }
        guard let ms = unsigned(text[..<dash]) else { throw invalid }
        let rest = text[(dash + 1)...]
        if allowAutoSequence, rest.elementsEqual([UInt8(ascii: "*")]) {
            return Parsed(id: StreamID(ms: ms, seq: 0), sequenceGiven: false)
        }
        guard let seq = unsigned(rest) else { throw invalid }
        return Parsed(id: StreamID(ms: ms, seq: seq))
    }

    /// An ID that may not be `-` or `+`.
    static func strict(_ bytes: [UInt8]) throws(CommandError) -> StreamID { try parse(bytes, strict: true).id }

    /// A range bound: `(` makes it exclusive (and strict), as streamParseIntervalIDOrReply.
    static func bound(_ bytes: [UInt8], missingSequence: UInt64) throws(CommandError) -> (id: StreamID, exclusive: Bool) {
        if bytes.count > 1, bytes.first == UInt8(ascii: "(") {
            return (try parse(Array(bytes.dropFirst()), missingSequence: missingSequence, strict: true).id, true)
        }
        return (try parse(bytes, missingSequence: missingSequence).id, false)
    }

    /// A start bound made inclusive; Redis's errors for `(` past the last ID.
    static func start(_ bytes: [UInt8]) throws(CommandError) -> StreamID {
        let (id, exclusive) = try bound(bytes, missingSequence: 0)
        guard exclusive else { return id }
        guard let next = id.successor else { throw CommandError(message: "ERR invalid start ID for the interval") }
        return next
    }

    static func end(_ bytes: [UInt8]) throws(CommandError) -> StreamID {
        let (id, exclusive) = try bound(bytes, missingSequence: .max)
        guard exclusive else { return id }
        guard let previous = id.predecessor else { throw CommandError(message: "ERR invalid end ID for the interval") }
        return previous
    }

    /// Redis's string2ull: a strict integer that is not negative, or else what strtoull
    /// accepts over the whole text (spaces and a sign first, leading zeros; a minus wraps).
    static func unsigned(_ text: ArraySlice<UInt8>) -> UInt64? {
        if let strict = Commands.integer(Array(text)) { return strict < 0 ? nil : UInt64(strict) }
        var index = text.startIndex
        while index < text.endIndex, [9, 10, 11, 12, 13, 32].contains(text[index]) { index += 1 }
        var negative = false
        if index < text.endIndex, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
            negative = text[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < text.endIndex else { return nil }
        var value: UInt64 = 0
        for byte in text[index...] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            value = sum
        }
        return negative ? 0 &- value : value
    }
}
