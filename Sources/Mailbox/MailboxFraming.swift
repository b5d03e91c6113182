import Foundation
import NIOCore

/// Mailbox frames are single lines of JSON: easy to read in a trace, and JSON
/// never contains a raw newline.
public enum MailboxFraming {
    public static func encode<Message: Encodable>(_ message: Message) throws -> [UInt8] {
        var bytes = Array(try JSONEncoder().encode(message))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    public static func decode<Message: Decodable>(_ type: Message.Type, from line: some Collection<UInt8>) throws -> Message {
        try JSONDecoder().decode(type, from: Data(line))
    }
}

/// Splits a byte stream into lines (without their `\n`), refusing lines longer than
/// `maximumLength` so a confused peer cannot grow memory without bound.
public struct LineFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = ByteBuffer
    public let maximumLength: Int

    public init(maximumLength: Int = 1 << 20) { self.maximumLength = maximumLength }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maximumLength { throw LineTooLongError(length: buffer.readableBytes) }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0, let rest = buffer.readSlice(length: buffer.readableBytes) {
            context.fireChannelRead(Self.wrapInboundOut(rest))
        }
        return .needMoreData
    }
}

public struct LineTooLongError: Error, Sendable {
    public let length: Int
}
