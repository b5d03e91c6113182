/// Where the search for the end of a head (or a trailer section) stands: the bytes
/// already looked at are not looked at again when more arrive, so a head sent a
/// byte at a time costs no more than one sent whole. Offsets are from the buffer's
/// reader index, which does not move until the section is complete.
///
/// The limits are checked byte by byte, in order, so that where the bytes are split
/// never changes the outcome: the request line must end within `requestLine` bytes
/// (414), the section within `limit` (431), and the method is checked as it arrives,
/// so that bytes that are no request line are refused at once (400), as llhttp did.
struct SectionScan {
    private(set) var scanned = 0
    private var lineStart = 0
    /// Complete lines so far, the request line included.
    private(set) var lines = 0
    private var inMethod = true

    /// The section's length through its empty line, or nil while it is incomplete.
    /// `requestLine` is nil for a trailer section, which has no request line.
    mutating func advance(_ bytes: UnsafeRawBufferPointer, requestLine: Int?, limit: Int) throws(RequestDecodingError) -> Int? {
        var index = scanned
        defer { scanned = index }
        while index < bytes.count {
            if let requestLine, lines == 0 {
                guard index < requestLine else { throw .requestLineTooLong }
                if inMethod { try checkMethod(bytes[index], at: index) }
            }
            guard index < limit else { throw .headTooLarge }
            if bytes[index] == .lf {
                let length = index - lineStart
                if length == 0 || (length == 1 && bytes[lineStart] == .cr) {
                    index += 1
                    return index
                }
                lines += 1
                lineStart = index + 1
            }
            index += 1
        }
        return nil
    }

    private mutating func checkMethod(_ byte: UInt8, at index: Int) throws(RequestDecodingError) {
        if byte == .space {
            guard index > 0 else { throw .notARequestLine }
            inMethod = false
        } else if !HTTPToken.isTokenCharacter(byte) {
            throw .notARequestLine
        }
    }

    /// Field lines in the section: what its parser reserves room for.
    var fieldLines: Int { max(0, lines - 1) }
}
