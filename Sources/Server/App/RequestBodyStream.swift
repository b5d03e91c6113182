import NIOConcurrencyHelpers
import NIOCore

/// A request body delivered piece by piece, for routes that opt into streaming
/// (`Router.on(_:_:body: .stream, _:)`). Reading from the connection pauses while
/// more than `highWatermark` bytes wait unread, so a fast client cannot fill memory.
public final class RequestBodyStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    private struct State {
        var pieces = CircularBuffer<ByteBuffer>()
        var bufferedBytes = 0
        var finished = false
        var failure: Error?
        var waiter: CheckedContinuation<ByteBuffer?, Error>?
        var paused = false
    }

    private let state = NIOLockedValueBox(State())
    private let highWatermark: Int
    private let resume: @Sendable () -> Void

    /// `resume` is called (from the reading task) when a paused connection may read again.
    init(highWatermark: Int = 1 << 20, resume: @escaping @Sendable () -> Void) {
        self.highWatermark = highWatermark
        self.resume = resume
    }

    /// Adds a piece; false when the connection should pause reading.
    func append(_ piece: ByteBuffer) -> Bool {
        let waiter: CheckedContinuation<ByteBuffer?, Error>?
        let keepReading: Bool
        (waiter, keepReading) = state.withLockedValue { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, true)
            }
            state.pieces.append(piece)
            state.bufferedBytes += piece.readableBytes
            // Only the reader un-pauses (below half the mark): a piece arriving after
            // the pause must not clear it, or nobody would resume reading.
            if state.bufferedBytes > highWatermark { state.paused = true }
            return (nil, !state.paused)
        }
        waiter?.resume(returning: piece)
        return keepReading
    }

    /// Ends the body: normally, or with an error when the connection broke.
    func finish(_ failure: Error? = nil) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<ByteBuffer?, Error>? in
            guard !state.finished else { return nil }
            state.finished = true
            state.failure = failure
            defer { state.waiter = nil }
            return state.waiter
        }
        if let failure { waiter?.resume(throwing: failure) } else { waiter?.resume(returning: nil) }
    }

    fileprivate func next() async throws -> ByteBuffer? {
        try await withCheckedThrowingContinuation { continuation in
            enum Outcome { case piece(ByteBuffer, resume: Bool), end, failed(Error), wait }
            let outcome = state.withLockedValue { state -> Outcome in
                if let piece = state.pieces.popFirst() {
                    state.bufferedBytes -= piece.readableBytes
                    let resume = state.paused && state.bufferedBytes <= highWatermark / 2
                    if resume { state.paused = false }
                    return .piece(piece, resume: resume)
                }
                if state.finished { return state.failure.map(Outcome.failed) ?? .end }
                state.waiter = continuation
                return .wait
            }
            switch outcome {
            case .piece(let piece, let shouldResume):
                if shouldResume { resume() }
                continuation.resume(returning: piece)
            case .end: continuation.resume(returning: nil)
            case .failed(let error): continuation.resume(throwing: error)
            case .wait: break
            }
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: RequestBodyStream
        public mutating func next() async throws -> ByteBuffer? { try await stream.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }

    /// Reads the rest of the body into one buffer, refusing more than `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        for try await var piece in self {
            guard all.readableBytes + piece.readableBytes <= limit else { throw BodyTooLarge(limit: limit) }
            all.writeBuffer(&piece)
        }
        return all
    }
}

/// A streamed body went past what its reader accepts.
public struct BodyTooLarge: Error, Sendable {
    public let limit: Int
}

/// The connection closed before the request body ended.
public struct BodyInterrupted: Error, Sendable {}
