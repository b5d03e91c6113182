import NIOCore

/// The wire form's building blocks: headers and bulk strings written into the buffer
/// in one write each, numbers digit by digit, no `String` in between.
extension RESPValue {
    /// Pairs as an array of two-element arrays.
    static func writeNested(_ values: [RESPValue], to buffer: inout ByteBuffer, resp3: Bool) {
        buffer.writeString("*\(values.count / 2)\r\n")
        for index in stride(from: 0, to: values.count - 1, by: 2) {
            buffer.writeString("*2\r\n")
            values[index].write(to: &buffer, resp3: resp3)
            values[index + 1].write(to: &buffer, resp3: resp3)
        }
    }

    static func write(_ values: [RESPValue], as kind: String, to buffer: inout ByteBuffer, resp3: Bool) {
        writeLine(kind.utf8.first ?? UInt8(ascii: "*"), values.count, to: &buffer)
        for value in values { value.write(to: &buffer, resp3: resp3) }
    }

    /// CR LF as one big-endian integer.
    static let crlf = UInt16(0x0D0A)

    /// `prefix`, the decimal `value`, CR LF, then `payload` and CR LF when there is
    /// one: a reply's header (and a bulk string's bytes), in one write to the buffer.
    static func writeLine(_ prefix: UInt8, _ value: Int, payload: [UInt8]? = nil, to buffer: inout ByteBuffer) {
        let payloadSpace = payload.map { $0.count + 2 } ?? 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 24 + payloadSpace) { out in
            var index = 0
            putLine(prefix, value, into: out, at: &index)
            if let payload { putPayload(payload, into: out, at: &index) }
            return index
        }
    }

    static func writeShortBulk(_ short: ShortString, to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16) { out in
            var index = 0
            putLine(UInt8(ascii: "$"), short.count, into: out, at: &index)
            short.withBytes { putPayload($0, into: out, at: &index) }
            return index
        }
    }

    /// An array of bulk strings (LRANGE, HGETALL, SMEMBERS...) in one write, its size
    /// counted first; false, with nothing written, when an element is anything else.
    static func writeBulkArray(_ values: [RESPValue], to buffer: inout ByteBuffer) -> Bool {
        var size = 24
        for value in values {
            guard case .bulkString(let bytes?) = value else { return false }
            size += 24 + bytes.count + 2
        }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            var index = 0
            putLine(UInt8(ascii: "*"), values.count, into: out, at: &index)
            for case .bulkString(let bytes?) in values {
                putLine(UInt8(ascii: "$"), bytes.count, into: out, at: &index)
                putPayload(bytes, into: out, at: &index)
            }
            return index
        }
        return true
    }

    /// Writes `prefix`, the decimal `value` and CR LF at `index` (at most 24 bytes).
    private static func putLine(_ prefix: UInt8, _ value: Int, into out: UnsafeMutableRawBufferPointer, at index: inout Int) {
        out[index] = prefix
        index += 1
        putDecimal(value, into: out, at: &index)
        out[index] = 0x0D
        out[index + 1] = 0x0A
        index += 2
    }

    /// Writes the decimal digits of `value` (a minus first when negative; at most 20
    /// bytes) at `index`.
    static func putDecimal(_ value: Int, into out: UnsafeMutableRawBufferPointer, at index: inout Int) {
        var magnitude = value.magnitude
        var length = 1
        var probe = magnitude
        while probe >= 10 {
            probe /= 10
            length += 1
        }
        if value < 0 {
            out[index] = UInt8(ascii: "-")
            index += 1
        }
        var position = index + length - 1
        repeat {
            out[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            position -= 1
        } while magnitude > 0
        index += length
    }

    /// Writes `payload` and CR LF at `index`.
    private static func putPayload(_ payload: [UInt8], into out: UnsafeMutableRawBufferPointer, at index: inout Int) {
        payload.withUnsafeBytes { putPayload($0, into: out, at: &index) }
    }

    private static func putPayload(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, at index: inout Int) {
        if let base = bytes.baseAddress, let target = out.baseAddress {
            (target + index).copyMemory(from: base, byteCount: bytes.count)
        }
        index += bytes.count
        out[index] = 0x0D
        out[index + 1] = 0x0A
        index += 2
    }
}
