import HTTPTypes
import NIOCore
import NIOHTTP1

/// A response head as the server sends it: the status line, the app's fields less
/// those the server sets, then the framing, `Date`, `Server` and `Connection`. Its
/// size is counted first, then it is copied in with one call into the buffer: each
/// of ByteBuffer's own writes cost about 250 instructions, a dozen of them a response.
struct ResponseHead {
    enum Framing: Equatable {
        case none
        case length(Int)
        case chunked
    }

    enum Connection {
        case close
        case keepAlive
        /// The app's own `Connection` field, if it set one (an HTTP/1.1 keep-alive response).
        case asTheAppSaid
    }

    let version: HTTPVersion
    let code: Int
    let fields: HTTPFields
    let framing: Framing
    let connection: Connection
    let date: String
    /// The reason phrase NIO gives the code; the one for 200 is written with its line.
    private let reason: String
    /// The app's `Connection` field, kept when it is to be written.
    private let appConnection: String?
    /// The exact number of bytes `write` writes.
    let size: Int

    init(version: HTTPVersion, code: Int, fields: HTTPFields, framing: Framing, connection: Connection, date: String) {
        (self.version, self.code, self.fields, self.framing, self.connection, self.date) =
            (version, code, fields, framing, connection, date)
        reason = code == 200 ? "" : HTTPResponseStatus(statusCode: code).reasonPhrase
        var size = code == 200 ? 17 : 15 + reason.utf8.count      // "HTTP/1.1 200 OK\r\n", or "HTTP/1.1 " code SP reason CRLF
        var appConnection: String?
        for field in fields {
            if Self.isServerField(field.name) {
                if field.name == .connection { appConnection = field.value }
                continue
            }
            size += field.name.rawName.utf8.count + field.value.utf8.count + 4
        }
        switch framing {
        case .none: break
        case .length(let length): size += 18 + Self.decimalCount(length)   // "Content-Length: " n CRLF
        case .chunked: size += 28                                           // "Transfer-Encoding: chunked\r\n"
        }
        size += 6 + date.utf8.count + 17                                  // "Date: " date "\r\nServer: pulse\r\n"
        switch connection {
        case .close: size += 19                                           // "Connection: close\r\n"
        case .keepAlive: size += 24                                       // "Connection: keep-alive\r\n"
        case .asTheAppSaid: if let appConnection { size += 14 + appConnection.utf8.count }
        }
        self.appConnection = connection == .asTheAppSaid ? appConnection : nil
        self.size = size + 2                                              // the empty line
    }

    func write(to buffer: inout ByteBuffer) {
        let written = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { bytes in
            var out = RawWriter(bytes: bytes)
            if code == 200 {
                out.append(version.minor == 0 ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.1 200 OK\r\n")
            } else {
                out.append(version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
                out.appendDecimal(min(max(code, 100), 999))   // three digits, as HTTPResponse.Status and NIO hold to
                out.append(" ")
                out.append(reason)
                out.append("\r\n")
            }
            for field in fields where !Self.isServerField(field.name) {
                out.append(field.name.rawName)
                out.append(": ")
                out.append(field.value)
                out.append("\r\n")
            }
            switch framing {
            case .none: break
            case .length(let length):
                out.append("Content-Length: ")
                out.appendDecimal(length)
                out.append("\r\n")
            case .chunked: out.append("Transfer-Encoding: chunked\r\n")
            }
            out.append("Date: ")
            out.append(date)
            out.append("\r\nServer: pulse\r\n")
            switch connection {
            case .close: out.append("Connection: close\r\n")
            case .keepAlive: out.append("Connection: keep-alive\r\n")
            case .asTheAppSaid:
                if let appConnection {
                    out.append("Connection: ")
                    out.append(appConnection)
                    out.append("\r\n")
                }
            }
            out.append("\r\n")
            return out.index
        }
        precondition(written == size, "a response head of \(written) bytes was counted as \(size)")
    }

    /// Fields the server writes itself, whatever the app set: compared, not hashed
    /// (a set's lookup hashed each name, 300 instructions a response).
    /// The length picks the one name to compare: most fields compare none.
    static func isServerField(_ name: HTTPField.Name) -> Bool {
        switch name.canonicalName.utf8.count {
        case 4: name == .date
        case 6: name == .server
        case 10: name == .connection
        case 14: name == .contentLength
        case 17: name == .transferEncoding
        default: false
        }
    }

    static func decimalCount(_ value: Int) -> Int {
        var count = 1
        var rest = value.magnitude / 10
        while rest > 0 { count += 1; rest /= 10 }
        return count
    }
}

/// Bytes appended to memory known to be large enough (`ResponseHead.size`); each
/// append still checks, so a miscount traps rather than writes past the end.
private struct RawWriter {
    let bytes: UnsafeMutableRawBufferPointer
    var index = 0

    @inline(__always)
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func append(_ source: UnsafeRawBufferPointer) {
        let count = source.count
        guard count > 0, let from = source.baseAddress, let to = bytes.baseAddress else { return }
        precondition(count <= bytes.count &- index, "a response head larger than counted")
        (to + index).copyMemory(from: from, byteCount: count)
        index &+= count
    }

    /// A non-negative integer in decimal.
    mutating func appendDecimal(_ value: Int) {
        let count = ResponseHead.decimalCount(value)
        precondition(count <= bytes.count - index, "a response head larger than counted")
        var rest = value.magnitude
        for position in stride(from: index + count - 1, through: index, by: -1) {
            bytes[position] = UInt8(truncatingIfNeeded: 0x30 &+ rest % 10)
            rest /= 10
        }
        index += count
    }
}
