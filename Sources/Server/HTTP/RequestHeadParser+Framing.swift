extension RequestHeadParser {
    /// What the fields that frame the message, or end the connection, say; noted as
    /// the field lines go by, judged once the head is complete (RFC 9112 6.3).
    struct FramingFields {
        private var contentLength: Int?
        private var contentLengthSeen = false
        private var transferEncoding = false
        /// The last non-empty coding of all `Transfer-Encoding` lines is `chunked`.
        private var chunkedLast = false
        var close = false
        var keepAlive = false
        var upgradeToken = false
        var upgradeField = false

        /// Looks at one field line; only the few names that matter are compared.
        mutating func note(_ field: FieldLine, in bytes: UnsafeRawBufferPointer) throws(RequestDecodingError) {
            switch field.name.count {
            case 14 where equalsCaseInsensitive(bytes, field.name, "content-length"):
                // Given twice is refused even when both agree, as llhttp and nginx do.
                guard !contentLengthSeen else { throw .badContentLength }
                contentLengthSeen = true
                contentLength = try Self.length(bytes, field.value)
            case 17 where equalsCaseInsensitive(bytes, field.name, "transfer-encoding"):
                transferEncoding = true
                forEachElement(bytes, field.value) { element in
                    chunkedLast = equalsCaseInsensitive(bytes, element, "chunked")
                }
            case 10 where equalsCaseInsensitive(bytes, field.name, "connection"):
                forEachElement(bytes, field.value) { element in
                    if equalsCaseInsensitive(bytes, element, "close") { close = true }
                    if equalsCaseInsensitive(bytes, element, "keep-alive") { keepAlive = true }
                    if equalsCaseInsensitive(bytes, element, "upgrade") { upgradeToken = true }
                }
            case 7 where equalsCaseInsensitive(bytes, field.name, "upgrade"):
                upgradeField = true
            default:
                break
            }
        }

        /// `Transfer-Encoding` wins, and must end in `chunked`; with `Content-Length`
        /// too, the message is refused rather than guessed at.
        func framing() throws(RequestDecodingError) -> BodyFraming {
            if transferEncoding {
                guard !contentLengthSeen else { throw .lengthAndEncoding }
                guard chunkedLast else { throw .badTransferEncoding }
                return .chunked
            }
            guard let contentLength, contentLength > 0 else { return .none }
            return .length(contentLength)
        }

        /// `1*DIGIT`, at most 2^63 - 1 (the value's OWS is already trimmed).
        static func length(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) throws(RequestDecodingError) -> Int {
            guard !value.isEmpty else { throw .badContentLength }
            var length = 0
            for index in value {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { throw .badContentLength }
                let (shifted, overflowA) = length.multipliedReportingOverflow(by: 10)
                let (sum, overflowB) = shifted.addingReportingOverflow(Int(byte - 0x30))
                guard !overflowA, !overflowB else { throw .badContentLength }
                length = sum
            }
            return length
        }

        /// Calls `body` with each non-empty element of a comma-separated list, its OWS
        /// trimmed; empty elements are skipped (RFC 9110 5.6.1).
        private func forEachElement(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>, _ body: (Range<Int>) -> Void) {
            var start = value.lowerBound
            while start < value.upperBound {
                var end = start
                while end < value.upperBound, bytes[end] != UInt8(ascii: ",") { end += 1 }
                var (lower, upper) = (start, end)
                while lower < upper, bytes[lower] == .space || bytes[lower] == .tab { lower += 1 }
                while upper > lower, bytes[upper - 1] == .space || bytes[upper - 1] == .tab { upper -= 1 }
                if lower < upper { body(lower..<upper) }
                start = end + 1
            }
        }
    }
}
