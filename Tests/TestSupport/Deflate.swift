import CompressNIO
import NIOCore

/// permessage-deflate as a client does it (RFC 7692 section 7.2.1): raw deflate
/// with a sync flush, the 4-byte tail dropped; and back.
public enum ClientDeflate {
    public static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
        var input = ByteBuffer(bytes: bytes)
        let compressor = CompressionAlgorithm.deflate().compressor
        try compressor.startStream()
        defer { try? compressor.finishStream() }
        var output = ByteBufferAllocator().buffer(capacity: compressor.maxSize(from: input) + 16)
        try compressor.streamDeflate(from: &input, to: &output, flush: .sync)
        return Array(output.readableBytesView.dropLast(4))
    }

    public static func inflate(_ bytes: [UInt8]) throws -> [UInt8] {
        var input = ByteBuffer(bytes: bytes + [0x00, 0x00, 0xFF, 0xFF])
        var output = ByteBufferAllocator().buffer(capacity: 1 << 20)
        let decompressor = CompressionAlgorithm.deflate().decompressor
        try decompressor.startStream()
        defer { try? decompressor.finishStream() }
        do {
            try decompressor.streamInflate(from: &input, to: &output)
        } catch let error as CompressNIOError where error == .inputBufferOverflow {
            // All of it read.
        }
        return Array(output.readableBytesView)
    }
}
