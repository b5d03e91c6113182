extension Commands {
    /// Strings read and written in part: by byte range and by bit.
    static let stringRanges: [String: Command] = [
        "getrange": one(4) { (session, arguments) throws(CommandError) in try getRange(session, arguments) },
        "substr": one(4) { (session, arguments) throws(CommandError) in try getRange(session, arguments) },
        "setrange": one(4) { (session, arguments) throws(CommandError) in
            let offset = try int(arguments[1])
            guard offset >= 0 else { throw CommandError(message: "ERR offset is out of range") }
            let value = arguments[2]
            let current = try session.string(arguments[0])
            // Writing nothing creates nothing and changes nothing, however far the offset.
            guard !value.isEmpty else { return .integer(current?.count ?? 0) }
            try checkLength(session, offset, plus: value.count)
            var bytes = current ?? []
            if bytes.count < offset + value.count { bytes += repeatElement(0, count: offset + value.count - bytes.count) }
            bytes.replaceSubrange(offset..<(offset + value.count), with: value)
            session.db.set(arguments[0], .string(bytes), keepTTL: true)
            session.store.changes += 1
            session.notify(.strings, "setrange", arguments[0])
            return .integer(bytes.count)
        },
        "getbit": one(3) { (session, arguments) throws(CommandError) in
            let offset = try bitOffset(session, arguments[1])
            guard let bytes = try session.string(arguments[0]) else { return .integer(0) }
            let byte = offset >> 3
            guard byte < bytes.count else { return .integer(0) }
            return .integer(Int(bytes[byte] >> (7 - (offset & 7))) & 1)
        },
        "setbit": one(4) { (session, arguments) throws(CommandError) in
            let offset = try bitOffset(session, arguments[1])
            let bitError = CommandError(message: "ERR bit is not an integer or out of range")
            guard let on = integer(arguments[2]), on == 0 || on == 1 else { throw bitError }
            var bytes = try session.string(arguments[0]) ?? []
            let byte = offset >> 3
            if bytes.count <= byte { bytes += repeatElement(0, count: byte + 1 - bytes.count) }
            let mask = UInt8(1) << (7 - (offset & 7))
            let old = bytes[byte] & mask == 0 ? 0 : 1
            bytes[byte] = on == 1 ? bytes[byte] | mask : bytes[byte] & ~mask
            session.db.set(arguments[0], .string(bytes), keepTTL: true)
            session.store.changes += 1
            session.notify(.strings, "setbit", arguments[0])
            return .integer(old)
        },
        "bitcount": one(-2) { (session, arguments) throws(CommandError) in try bitCount(session, arguments) },
    ]

    /// Redis refuses to grow a string past proto-max-bulk-len (512 MB unless configured).
    static func checkLength(_ session: Session, _ offset: Int, plus length: Int) throws(CommandError) {
        let (total, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, total <= session.store.maxStringLength else {
            throw CommandError(message: "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        }
    }

    /// A bit offset for GETBIT and SETBIT: not negative, and within proto-max-bulk-len bytes.
    static func bitOffset(_ session: Session, _ argument: [UInt8]) throws(CommandError) -> Int {
        guard let offset = integer(argument), offset >= 0, offset >> 3 < session.store.maxStringLength else {
            throw CommandError(message: "ERR bit offset is not an integer or out of range")
        }
        return offset
    }

    /// GETRANGE's inclusive byte range with negative indexes from the end, as Redis
    /// clamps it: two negative indexes in the wrong order give nothing at once.
    static func getRange(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        let start = try int(arguments[1]), end = try int(arguments[2])
        guard let bytes = try session.string(arguments[0]) else { return .bulkString([]) }
        guard let range = byteRange(start, end, length: bytes.count) else { return .bulkString([]) }
        return .bulkString(Array(bytes[range]))
    }

    static func byteRange(_ start: Int, _ end: Int, length: Int) -> ClosedRange<Int>? {
        if start < 0, end < 0, start > end { return nil }
        // `length` is not negative, so adding a negative index cannot overflow.
        let first = max(0, start < 0 ? length + start : start)
        let last = min(length - 1, max(0, end < 0 ? length + end : end))
        return first <= last ? first...last : nil
    }

    /// BITCOUNT key [start end [BYTE|BIT]]. A missing key counts 0 before its
    /// arguments are read, as in Redis 7.0.
    static func bitCount(_ session: Session, _ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        guard let bytes = try session.string(arguments[0]) else { return .integer(0) }
        guard arguments.count != 1 else { return .integer(bytes.reduce(0) { $0 + $1.nonzeroBitCount }) }
        guard arguments.count == 3 || arguments.count == 4 else { throw .syntax }
        let start = try int(arguments[1]), end = try int(arguments[2])
        if start < 0, end < 0, start > end { return .integer(0) }
        var bits = false
        if arguments.count == 4 {
            switch arguments[3].text.uppercased() {
            case "BIT": bits = true
            case "BYTE": bits = false
            default: throw .syntax
            }
        }
        // A string is at most 512 MB, so its length in bits fits easily.
        let length = bits ? bytes.count * 8 : bytes.count
        guard let range = byteRange(start, end, length: length) else { return .integer(0) }
        guard bits else { return .integer(bytes[range].reduce(0) { $0 + $1.nonzeroBitCount }) }
        var count = 0
        for byte in (range.lowerBound >> 3)...(range.upperBound >> 3) {
            var value = bytes[byte]
            if byte == range.lowerBound >> 3 { value &= 0xFF >> (range.lowerBound & 7) }
            if byte == range.upperBound >> 3 { value &= 0xFF << (7 - (range.upperBound & 7)) }
            count += value.nonzeroBitCount
        }
        return .integer(count)
    }
}
