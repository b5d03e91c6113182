import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOWebSocket
@testable import Server
import TestSupport
import Testing

/// permessage-deflate (RFC 7692): what the handshake agrees, and the handler that
/// inflates the client's messages within limits and compresses the app's.
@Suite struct PerMessageDeflateTests {
    func offer(_ value: String) -> PerMessageDeflate.Agreement? {
        PerMessageDeflate.negotiate(HTTPHeaders([("Sec-WebSocket-Extensions", value)]))
    }

    static let answer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

    @Test func theHandshakeAgreesOnlyToWellFormedOffers() {
        #expect(offer("permessage-deflate")?.header == Self.answer)
        #expect(offer("permessage-deflate; client_max_window_bits")?.header == Self.answer)
        #expect(offer("permessage-deflate; client_max_window_bits=10; server_no_context_takeover")?.header == Self.answer)
        #expect(offer("permessage-deflate; server_max_window_bits=10") == .init(serverMaxWindowBits: 10,
                                                                                header: Self.answer + "; server_max_window_bits=10"))
        #expect(offer("permessage-deflate; server_max_window_bits=\"12\"")?.serverMaxWindowBits == 12)
        // Declined: unknown or repeated parameters, bad values, 8 (zlib's raw deflate cannot).
        for bad in ["permessage-deflate; foo", "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                    "permessage-deflate; server_max_window_bits", "permessage-deflate; server_max_window_bits=16",
                    "permessage-deflate; server_max_window_bits=8", "permessage-deflate; client_max_window_bits=7",
                    "permessage-deflate; client_max_window_bits=+9", "permessage-deflate; server_no_context_takeover=1",
                    "x-webkit-deflate-frame", ""] {
            #expect(offer(bad) == nil, "\(bad)")
        }
        // The first acceptable offer wins.
        #expect(offer("permessage-deflate; bogus, permessage-deflate; server_max_window_bits=11")?.serverMaxWindowBits == 11)
        #expect(PerMessageDeflate.negotiate(HTTPHeaders()) == nil)
    }

    static func compressed(_ bytes: [UInt8]) throws -> ByteBuffer { ByteBuffer(bytes: try ClientDeflate.compress(bytes)) }

    func channel(maxMessage: Int = 1 << 20) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(PerMessageDeflateHandler(maxMessage: maxMessage, windowBits: 15))
        return channel
    }

    @Test func aCompressedMessageArrivesInflatedWholeOrInFragments() throws {
        let text = Array(String(repeating: "hello pulse ", count: 50).utf8)
        let channel = try channel()
        let data = try Self.compressed(text)
        try channel.writeInbound(WebSocketFrame(fin: true, rsv1: true, opcode: .text, maskKey: [1, 2, 3, 4], data: data.maskedCopy([1, 2, 3, 4])))
        let frame = try #require(try channel.readInbound(as: WebSocketFrame.self))
        #expect(!frame.rsv1 && frame.opcode == .text && Array(frame.data.readableBytesView) == text)
        // Fragmented: the first frame carries RSV1, the continuations belong to the message.
        let cut = data.readableBytes / 2
        try channel.writeInbound(WebSocketFrame(fin: false, rsv1: true, opcode: .binary, data: data.getSlice(at: 0, length: cut)!))
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .continuation, data: data.getSlice(at: cut, length: data.readableBytes - cut)!))
        var received: [UInt8] = []
        while let piece = try channel.readInbound(as: WebSocketFrame.self) { received += Array(piece.data.readableBytesView) }
        #expect(received == text)
        // An uncompressed message passes untouched.
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "plain")))
        #expect(try channel.readInbound(as: WebSocketFrame.self)?.data == ByteBuffer(string: "plain"))
    }

    @Test func bombsAndGarbageAreRefused() throws {
        // Over the message limit once inflated.
        let small = try channel(maxMessage: 64 * 1024)
        let hundredK = try Self.compressed([UInt8](repeating: 0, count: 100_000))
        #expect(throws: DeflateViolation.tooLarge) {
            try small.writeInbound(WebSocketFrame(fin: true, rsv1: true, opcode: .binary, data: hundredK))
        }
        // Within the limit, but a thousand bytes out for each one in.
        let large = try channel(maxMessage: 16 << 20)
        let fourM = try Self.compressed([UInt8](repeating: 0, count: 4 << 20))
        #expect(throws: DeflateViolation.tooLarge) {
            try large.writeInbound(WebSocketFrame(fin: true, rsv1: true, opcode: .binary, data: fourM))
        }
        // Not deflate at all.
        let garbage = try channel()
        #expect(throws: DeflateViolation.corrupt) {
            try garbage.writeInbound(WebSocketFrame(fin: true, rsv1: true, opcode: .binary, data: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0x07, 0x13])))
        }
        // After a violation nothing more goes on.
        try garbage.writeInbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "late")))
        #expect(try garbage.readInbound(as: WebSocketFrame.self) == nil)
    }

    @Test func theAppsMessagesGoOutCompressedWhenItHelps() throws {
        let channel = try channel()
        let text = String(repeating: "compress me ", count: 40)
        try channel.writeOutbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text)))
        let frame = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(frame.rsv1 && frame.data.readableBytes < text.utf8.count)
        #expect(try ClientDeflate.inflate(Array(frame.data.readableBytesView)) == Array(text.utf8))
        // Small messages and control frames go as they are.
        try channel.writeOutbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "tiny")))
        #expect(try channel.readOutbound(as: WebSocketFrame.self)?.rsv1 == false)
        try channel.writeOutbound(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: text)))
        #expect(try channel.readOutbound(as: WebSocketFrame.self)?.rsv1 == false)
    }
}

extension ByteBuffer {
    /// The bytes XORed with a masking key, as a client sends them.
    func maskedCopy(_ key: WebSocketMaskingKey) -> ByteBuffer {
        var copy = self
        copy.webSocketMask(key)
        return copy
    }
}
