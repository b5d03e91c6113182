import NIOConcurrencyHelpers
import NIOCore
@testable import Server
import Testing

@Suite struct RequestBodyStreamTests {
    @Test func deliversPiecesInOrderThenEnds() async throws {
        let stream = RequestBodyStream(highWatermark: 100) {}
        #expect(stream.append(ByteBuffer(string: "ab")))
        #expect(stream.append(ByteBuffer(string: "cd")))
        stream.finish()
        var text = ""
        for try await piece in stream { text += String(buffer: piece) }
        #expect(text == "abcd")
    }

    @Test func pausesAboveTheMarkAndResumesOnlyBelowHalf() async throws {
        let resumed = NIOLockedValueBox(0)
        let stream = RequestBodyStream(highWatermark: 10) { resumed.withLockedValue { $0 += 1 } }
        #expect(stream.append(ByteBuffer(string: "123456")))
        #expect(!stream.append(ByteBuffer(string: "7890ab")))       // 12 > 10: pause
        var iterator = stream.makeAsyncIterator()
        _ = try await iterator.next()                                  // 6 left: above half
        #expect(resumed.withLockedValue { $0 } == 0)
        #expect(!stream.append(ByteBuffer(string: "c")))              // still paused though below the mark
        _ = try await iterator.next()                                  // 1 left: resume once
        #expect(resumed.withLockedValue { $0 } == 1)
        _ = try await iterator.next()
        #expect(resumed.withLockedValue { $0 } == 1)
    }

    @Test func aWaitingReaderGetsThePieceAndAnInterruptedBodyThrows() async throws {
        let stream = RequestBodyStream {}
        async let first: ByteBuffer? = {
            var iterator = stream.makeAsyncIterator()
            return try await iterator.next()
        }()
        try await Task.sleep(for: .milliseconds(50))
        _ = stream.append(ByteBuffer(string: "late"))
        #expect(try await first.map { String(buffer: $0) } == "late")
        stream.finish(BodyInterrupted())
        await #expect(throws: BodyInterrupted.self) { _ = try await stream.collect(upTo: 100) }
    }

    @Test func collectRefusesMoreThanItsLimit() async {
        let stream = RequestBodyStream {}
        _ = stream.append(ByteBuffer(string: "0123456789"))
        stream.finish()
        await #expect(throws: BodyTooLarge.self) { _ = try await stream.collect(upTo: 5) }
    }
}
