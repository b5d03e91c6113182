import Mailbox
import NIOCore
import NIOEmbedded
import Testing

@Suite struct MailboxFramingTests {
    @Test func messagesRoundTripAsSingleLines() throws {
        var report = WorkerReport()
        report.requests = 42
        report.latencyMs = LatencySummary(p50: 1, p90: 2, p99: 3, max: 4)
        for message in [WorkerMessage.ready(pid: 7), .heartbeat(report), .retire(requests: 9)] {
            let bytes = try MailboxFraming.encode(message)
            #expect(bytes.last == UInt8(ascii: "\n"))
            #expect(bytes.dropLast().contains(UInt8(ascii: "\n")) == false)
            #expect(try MailboxFraming.decode(WorkerMessage.self, from: bytes.dropLast()) == message)
        }
    }

    @Test func lineDecoderSplitsAndReassembles() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder()))
        try channel.writeInbound(ByteBuffer(string: "one\ntw"))
        try channel.writeInbound(ByteBuffer(string: "o\r\nthree\n"))
        #expect(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) } == "one")
        #expect(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) } == "two")
        #expect(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) } == "three")
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
    }

    @Test func lineDecoderRefusesEndlessLines() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder(maximumLength: 16)))
        #expect(throws: LineTooLongError.self) {
            try channel.writeInbound(ByteBuffer(string: String(repeating: "x", count: 64)))
        }
    }
}
