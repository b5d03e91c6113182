import NIOCore
import NIOHTTP1

/// HTTP/1.1 responses as the bytes on the wire, written by `HTTPConnectionHandler`
/// into one buffer per response (head and a whole body together), where NIO's
/// encoder, pipelining handler and header validator would each take every part of
/// it through the pipeline: about 20 type casts and a dozen handler hops a request.
/// Field names come from `HTTPField.Name` (valid tokens) and values from
/// `HTTPField` (which replaces CR, LF and NUL), or from the server itself, so
/// nothing here can split a header.
enum ResponseBytes {
    /// The status line: `HTTP/1.1 200 OK`, with the reason phrase NIO gives the code.
    static func writeStatusLine(version: HTTPVersion, code: Int, to buffer: inout ByteBuffer) {
        let http10 = version.major == 1 && version.minor == 0
        if code == 200 {
            buffer.writeStaticString(http10 ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.1 200 OK\r\n")
            return
        }
        buffer.writeStaticString(http10 ? "HTTP/1.0 " : "HTTP/1.1 ")
        let status = HTTPResponseStatus(statusCode: code)
        // A status code has three digits (HTTPResponse.Status and NIO both hold to it).
        let clamped = min(max(code, 100), 999)
        buffer.writeInteger(UInt8(truncatingIfNeeded: 0x30 + clamped / 100))
        buffer.writeInteger(UInt8(truncatingIfNeeded: 0x30 + clamped / 10 % 10))
        buffer.writeInteger(UInt8(truncatingIfNeeded: 0x30 + clamped % 10))
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
    }

    static func writeField(_ name: String, _ value: String, to buffer: inout ByteBuffer) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }

    static func writeField(_ name: StaticString, _ value: String, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }

    /// A chunk of a chunked body (RFC 9112 7.1): its size in hex, the data, CRLF.
    /// An empty piece is not written: it would read as the last chunk.
    static func writeChunk(_ data: ByteBuffer, to buffer: inout ByteBuffer) {
        guard data.readableBytes > 0 else { return }
        writeChunkSize(data.readableBytes, to: &buffer)
        buffer.writeImmutableBuffer(data)
        buffer.writeStaticString("\r\n")
    }

    static func writeChunkSize(_ size: Int, to buffer: inout ByteBuffer) {
        buffer.writeString(String(size, radix: 16))
        buffer.writeStaticString("\r\n")
    }

    /// The last chunk and an empty trailer section.
    static let lastChunk: StaticString = "0\r\n\r\n"

    /// An interim `100 Continue` (RFC 9110 15.2.1): a status line and nothing else.
    static func continueLine(version: HTTPVersion) -> StaticString {
        version.minor == 0 ? "HTTP/1.0 100 Continue\r\n\r\n" : "HTTP/1.1 100 Continue\r\n\r\n"
    }
}
