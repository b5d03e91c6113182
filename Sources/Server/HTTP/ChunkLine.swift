import NIOHTTP1

/// The lines of a chunked body (RFC 9112 7.1): a chunk's size with its extensions,
/// and the trailer section after the last chunk. Pure.
enum ChunkLine {
    /// `chunk-size *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] ) CRLF`, the LF
    /// not included. Extensions are checked and skipped; whitespace around `;` and `=`
    /// is the BWS the grammar allows. At most 16 hex digits, and at most 2^63 - 1.
    /// A bare LF is refused (RFC 9112 2.2 allows accepting it, and nginx does, but a
    /// proxy in front that reads it as part of an extension would frame the body
    /// differently: the chunk-extension smuggling of 2025).
    static func size(_ line: UnsafeRawBufferPointer) throws(RequestDecodingError) -> Int {
        guard let last = line.last, last == .cr else { throw .badChunk }
        let end = line.count - 1
        var index = 0
        var size: UInt64 = 0
        while index < end, let digit = hexValue(line[index]) {
            guard index < 16 else { throw .badChunk }
            size = size << 4 | UInt64(digit)
            index += 1
        }
        guard index > 0, size <= UInt64(Int64.max) else { throw .badChunk }
        skipWhitespace(line, &index, end)
        while index < end {
            guard line[index] == UInt8(ascii: ";") else { throw .badChunk }
            index += 1
            skipWhitespace(line, &index, end)
            try skipToken(line, &index, end)
            skipWhitespace(line, &index, end)
            if index < end, line[index] == UInt8(ascii: "=") {
                index += 1
                skipWhitespace(line, &index, end)
                if index < end, line[index] == UInt8(ascii: "\"") {
                    try skipQuotedString(line, &index, end)
                } else {
                    try skipToken(line, &index, end)
                }
                skipWhitespace(line, &index, end)
            }
        }
        return Int(size)
    }

    /// The trailer section's field lines, through its empty line.
    static func trailers(_ bytes: UnsafeRawBufferPointer, count: Int) throws(RequestDecodingError) -> HTTPHeaders {
        var cursor = 0
        var fields: [(String, String)] = []
        fields.reserveCapacity(count)
        while true {
            guard cursor + 1 < bytes.count else { throw .badField }
            if bytes[cursor] == .cr {
                guard bytes[cursor + 1] == .lf, cursor + 2 == bytes.count else { throw .badField }
                break
            }
            let field = try RequestHeadParser.fieldLine(bytes, cursor: &cursor)
            fields.append((RequestHeadParser.string(bytes, field.name), RequestHeadParser.string(bytes, field.value)))
        }
        return HTTPHeaders(fields)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func skipWhitespace(_ line: UnsafeRawBufferPointer, _ index: inout Int, _ end: Int) {
        while index < end, line[index] == .space || line[index] == .tab { index += 1 }
    }

    private static func skipToken(_ line: UnsafeRawBufferPointer, _ index: inout Int, _ end: Int) throws(RequestDecodingError) {
        let start = index
        while index < end, HTTPToken.isTokenCharacter(line[index]) { index += 1 }
        guard index > start else { throw .badChunk }
    }

    /// `DQUOTE *( qdtext / "\" (HTAB / SP / VCHAR / obs-text) ) DQUOTE` (RFC 9110 5.6.4).
    private static func skipQuotedString(_ line: UnsafeRawBufferPointer, _ index: inout Int, _ end: Int) throws(RequestDecodingError) {
        index += 1
        while index < end {
            let byte = line[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return
            }
            let next = byte == UInt8(ascii: "\\") ? index + 1 : index
            guard next < end, isQuotable(line[next]) else { throw .badChunk }
            index = next + 1
        }
        throw .badChunk
    }

    private static func isQuotable(_ byte: UInt8) -> Bool {
        byte == .tab || (byte >= .space && byte != 0x7F)
    }
}
