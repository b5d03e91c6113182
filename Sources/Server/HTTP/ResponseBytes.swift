import NIOCore
import NIOHTTP1

/// The framing bytes of HTTP/1.1 responses besides their heads (`ResponseHead`
/// writes every head, refusals and 101s included): a chunked body's chunks and end,
/// and the interim `100 Continue`.
enum ResponseBytes {
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
