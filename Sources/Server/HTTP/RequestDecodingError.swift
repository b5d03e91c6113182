import NIOHTTP1

/// Why `RequestDecoder` refused a connection's bytes. The decoder throws the
/// `HTTPParserError` each maps to, since that is what NIO's pipelining handler holds
/// back behind a response in progress and what `HTTPConnectionStateMachine` answers.
enum RequestDecodingError: Error, Equatable {
    /// The bytes do not start with `token SP`: 400.
    case notARequestLine
    /// A well-formed method the server does not know: 501 (RFC 9110 9.1).
    case unknownMethod
    /// The target or the version is malformed, or the line does not end in CRLF: 400.
    case badRequestLine
    /// The request line is longer than the limit: 414.
    case requestLineTooLong
    /// An HTTP version whose major is not 1 (or none at all, as HTTP/0.9 sends): 505.
    case unsupportedVersion
    /// A field line that is not `token ":" OWS value OWS CRLF` (whitespace before the
    /// colon, obs-fold, a control character or bare CR in the value): 400.
    case badField
    /// The head (or a trailer section) is larger than the limit: 431.
    case headTooLarge
    /// `Content-Length` not digits, beyond 63 bits, or given twice: 400.
    case badContentLength
    /// `Transfer-Encoding` whose final coding is not `chunked`, or empty: 400.
    case badTransferEncoding
    /// Both `Transfer-Encoding` and `Content-Length`: 400 (RFC 9112 6.1 allows it, but a
    /// proxy in front may have read the other one; nginx and llhttp refuse it too).
    case lengthAndEncoding
    /// A chunk's size line or the CRLF after its data is malformed: 400.
    case badChunk
    /// Bytes after a request that closed the connection: not read, not answered.
    case dataAfterClose
    /// The connection closed in the middle of a request.
    case endedMidRequest

    var parserError: HTTPParserError {
        switch self {
        case .notARequestLine: .invalidCharactersUsed
        case .unknownMethod: .invalidMethod
        case .badRequestLine: .invalidConstant
        case .requestLineTooLong: .invalidURL
        case .unsupportedVersion: .invalidVersion
        case .badField: .invalidHeaderToken
        case .headTooLarge: .headerOverflow
        case .badContentLength: .invalidContentLength
        case .badTransferEncoding: .unknown
        case .lengthAndEncoding: .unexpectedContentLength
        case .badChunk: .invalidChunkSize
        case .dataAfterClose: .closedConnection
        case .endedMidRequest: .invalidEOFState
        }
    }
}
