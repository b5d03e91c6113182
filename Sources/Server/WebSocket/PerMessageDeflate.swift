import CompressNIO
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// permessage-deflate (RFC 7692), when `--websocket-deflate` allows it: what the
/// handshake agrees, and the handler that inflates what the client compressed and
/// compresses what the app sends.
///
/// Pulse always answers with `server_no_context_takeover` and
/// `client_no_context_takeover`: every message is compressed on its own. A little
/// ratio is lost on chatty sockets; in exchange a connection keeps no zlib state
/// between messages (a deflate stream holds about 300 KiB), which is what lets a
/// worker hold thousands of sockets.
enum PerMessageDeflate {
    /// What the server answers in `Sec-WebSocket-Extensions`, and the window it compresses with.
    struct Agreement: Equatable {
        var serverMaxWindowBits: Int
        var header: String
    }

    /// The first acceptable `permessage-deflate` offer among the client's, or nil
    /// (the socket then runs uncompressed). An offer with an unknown, repeated or
    /// malformed parameter is declined, as section 7.1 asks.
    static func negotiate(_ headers: HTTPHeaders) -> Agreement? {
        for field in headers[canonicalForm: "Sec-WebSocket-Extensions"] {
            for offer in field.split(separator: ",") {
                if let agreement = accept(offer) { return agreement }
            }
        }
        return nil
    }

    private static func accept(_ offer: Substring) -> Agreement? {
        let parts = offer.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "permessage-deflate" else { return nil }
        var seen: Set<String> = []
        var serverBits = 15
        var clientBitsOffered = false
        for parameter in parts.dropFirst() {
            let pieces = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = pieces[0].trimmingCharacters(in: .whitespaces).lowercased()
            var value = pieces.count > 1 ? pieces[1].trimmingCharacters(in: .whitespaces) : nil
            if let quoted = value, quoted.count >= 2, quoted.hasPrefix("\""), quoted.hasSuffix("\"") {
                value = String(quoted.dropFirst().dropLast())
            }
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover", "client_no_context_takeover":
                guard value == nil else { return nil }
            case "server_max_window_bits":
                // zlib's raw deflate cannot use a 256-byte window: decline 8.
                guard let value, let bits = windowBits(value), bits >= 9 else { return nil }
                serverBits = bits
            case "client_max_window_bits":
                if let value { guard windowBits(value) != nil else { return nil } }
                clientBitsOffered = true
            default:
                return nil
            }
        }
        var header = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        if serverBits < 15 { header += "; server_max_window_bits=\(serverBits)" }
        _ = clientBitsOffered   // we inflate with the largest window: any client window is fine
        return Agreement(serverMaxWindowBits: serverBits, header: header)
    }

    /// `8` to `15`, digits only (RFC 7692 section 7.1.2).
    private static func windowBits(_ text: String) -> Int? {
        guard (1...2).contains(text.count), text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
              let bits = Int(text), (8...15).contains(bits) else { return nil }
        return bits
    }

    /// The 4 bytes a sync flush ends with: the sender drops them, the receiver adds them back.
    static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]
    /// Messages shorter than this go out uncompressed: not worth the CPU.
    static let smallest = 64
    /// Beyond this inflated size, more than this many bytes out per byte in is a bomb.
    static let ratioFloor = 1 << 20
    static let maxRatio = 100
}

/// Why a compressed message is refused.
enum DeflateViolation: Error, Equatable {
    /// Larger than `--max-websocket-message` once inflated, or inflating too far: close 1009.
    case tooLarge
    /// Not a deflate stream: close 1007 (the data does not match what the message says).
    case corrupt
}

/// Inflates messages the client compressed (RSV1 on their first frame), fragment by
/// fragment, with the size and ratio limits, and compresses the app's data frames.
/// It sits between the frame validator (which allows RSV1 on first frames only
/// when this extension was agreed) and the aggregator; frames it passes on carry no
/// reserved bit and the inflated data, so UTF-8 is checked after it.
final class PerMessageDeflateHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let maxMessage: Int
    private let windowBits: Int
    /// The message being inflated: its decompressor and the bytes in and out so far.
    private var inflating: (decompressor: any NIODecompressor, input: Int, output: Int)?
    private var failed = false

    init(maxMessage: Int, windowBits: Int) {
        self.maxMessage = maxMessage
        self.windowBits = windowBits
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = Self.unwrapInboundIn(data)
        guard !failed || frame.opcode == .connectionClose else { return }
        let starts = frame.rsv1 && (frame.opcode == .text || frame.opcode == .binary)
        guard starts || (inflating != nil && frame.opcode == .continuation) else {
            context.fireChannelRead(data)
            return
        }
        do {
            let inflated = try inflate(frame.unmaskedData, starts: starts, fin: frame.fin, allocator: context.channel.allocator)
            frame = WebSocketFrame(fin: frame.fin, rsv1: false, opcode: frame.opcode, maskKey: nil, data: inflated)
            context.fireChannelRead(Self.wrapInboundOut(frame))
        } catch {
            failed = true
            inflating = nil
            context.fireErrorCaught(error)
        }
    }

    private func inflate(_ input: ByteBuffer, starts: Bool, fin: Bool, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        if starts {
            let decompressor = CompressionAlgorithm.deflate(configuration: .init(windowSize: 15)).decompressor
            try decompressor.startStream()
            inflating = (decompressor, 0, 0)
        }
        guard var state = inflating else { return input }
        var source = input
        if fin { source.writeBytes(PerMessageDeflate.tail) }
        state.input += input.readableBytes
        var output = allocator.buffer(capacity: min(maxMessage, max(256, source.readableBytes * 4)))
        while source.readableBytes > 0 {
            let before = output.writerIndex
            var full = false
            do {
                try state.decompressor.streamInflate(from: &source, to: &output)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                full = true
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                // Every byte taken, more to come in the next fragment.
            } catch {
                throw DeflateViolation.corrupt
            }
            state.output += output.writerIndex - before
            guard state.output <= maxMessage,
                  state.output <= PerMessageDeflate.ratioFloor || state.output / max(1, state.input) <= PerMessageDeflate.maxRatio
            else { throw DeflateViolation.tooLarge }
            // Room left and input left: the deflate stream ended (a final block), and
            // RFC 7692 section 7.2.2 has the rest, our appended tail included, ignored.
            guard full else { break }
            output.reserveCapacity(minimumWritableBytes: max(1, min(64 * 1024, maxMessage - state.output + 1)))
        }
        if fin {
            try? state.decompressor.finishStream()
            inflating = nil
        } else {
            inflating = state
        }
        return output
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        try? inflating?.decompressor.finishStream()
        inflating = nil
    }

    /// Whole text and binary messages of some size go out compressed, each on its own.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = Self.unwrapOutboundIn(data)
        guard frame.fin, frame.opcode == .text || frame.opcode == .binary, frame.data.readableBytes >= PerMessageDeflate.smallest,
              let compressed = deflate(frame.data, allocator: context.channel.allocator) else {
            context.write(data, promise: promise)
            return
        }
        context.write(Self.wrapOutboundOut(WebSocketFrame(fin: true, rsv1: true, opcode: frame.opcode, data: compressed)), promise: promise)
    }

    /// Raw deflate with a sync flush, its 4-byte tail dropped; nil if it fails or does not help.
    private func deflate(_ input: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer? {
        let compressor = CompressionAlgorithm.deflate(configuration: .init(windowSize: Int32(windowBits))).compressor
        var source = input
        var output: ByteBuffer
        do {
            try compressor.startStream()
            defer { try? compressor.finishStream() }
            output = allocator.buffer(capacity: compressor.maxSize(from: input) + 16)
            try compressor.streamDeflate(from: &source, to: &output, flush: .sync)
        } catch {
            return nil
        }
        guard output.readableBytes >= 4, output.readableBytesView.suffix(4).elementsEqual(PerMessageDeflate.tail) else { return nil }
        output.moveWriterIndex(to: output.writerIndex - 4)
        return output.readableBytes < input.readableBytes ? output : nil
    }
}
