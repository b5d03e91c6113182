/// Splitting a request target by its ASCII delimiters (`?`, `/`), by bytes when the
/// target is all ASCII, as it nearly always is. Splitting by `Character` finds the
/// same places there (no grapheme cluster of ASCII holds a `?` or `/` with anything
/// else) and costs a `String` per character; a target with other characters is still
/// split by `Character`, where a combining mark after a `/` joins it.
enum TargetSplitting {
    /// Where the query begins: the first `?`, if any.
    static func queryMark(in target: String) -> String.Index? {
        let found = target.utf8.withContiguousStorageIfAvailable { bytes -> Int?? in
            var mark: Int?
            for offset in bytes.indices {
                let byte = bytes[offset]
                if byte >= 0x80 { return nil }
                if byte == UInt8(ascii: "?"), mark == nil { mark = offset }
            }
            return .some(mark)
        }
        guard case .some(.some(let mark)) = found else { return target.firstIndex(of: "?") }
        return mark.map { target.utf8.index(target.startIndex, offsetBy: $0) }
    }

    /// The non-empty pieces between `/`s.
    static func segments(_ path: Substring) -> [Substring] {
        let found = path.utf8.withContiguousStorageIfAvailable { bytes -> [Substring]? in
            var segments: [Substring] = []
            var start = 0
            for offset in bytes.indices {
                let byte = bytes[offset]
                if byte >= 0x80 { return nil }
                if byte == UInt8(ascii: "/") {
                    if start < offset { segments.append(slice(path, start..<offset)) }
                    start = offset + 1
                }
            }
            if start < bytes.count { segments.append(slice(path, start..<bytes.count)) }
            return segments
        }
        return (found ?? nil) ?? path.split(separator: "/", omittingEmptySubsequences: true)
    }

    /// `text`'s UTF-8 bytes `offsets`, as a substring (offsets on character boundaries).
    private static func slice(_ text: Substring, _ offsets: Range<Int>) -> Substring {
        let start = text.utf8.index(text.startIndex, offsetBy: offsets.lowerBound)
        return text[start..<text.utf8.index(start, offsetBy: offsets.count)]
    }
}
