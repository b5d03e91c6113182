import NIOCore
import NIOWebSocket

/// What a received Close frame says, by RFC 6455 5.5.1 and 7.4. Pure.
enum WebSocketCloseRules {
    enum Verdict: Equatable {
        /// A well-formed close: echo `code` (nil: the peer sent none; echo an empty close).
        case valid(code: UInt16?)
        /// Malformed (a 1-byte body, a reserved or unknown code, a reason that is not
        /// UTF-8): answer with 1002.
        case protocolError
    }

    static func judge(_ payload: ByteBuffer) -> Verdict {
        var payload = payload
        guard payload.readableBytes > 0 else { return .valid(code: nil) }
        guard let code = payload.readInteger(as: UInt16.self) else { return .protocolError }   // one byte
        guard isValidReceived(code), UTF8Validator.isValid(payload.readableBytesView) else { return .protocolError }
        return .valid(code: code)
    }

    /// Codes a peer may send: the defined ones (1000-1003, 1007-1014) and those for
    /// libraries and applications (3000-4999). 1004-1006 and 1015 are reserved or
    /// never sent on the wire; below 1000 and 1016-2999 are unassigned.
    static func isValidReceived(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }
}
