import NIOCore
import NIOHTTP1

/// The request cycle of one HTTP/1.1 connection, as a value: events in, actions out.
/// `HTTPConnectionHandler` only carries the actions out.
///
///     awaitingHead --head--> collecting --end--> running --finished--> awaitingHead (keep-alive)
///        |   |                   |                  |                   or closed
///        |   +--head, stream route------------------+ (body still arriving: `bodyOpen`)
///        |                       |
///        +--head over limits-----+--body over --max-body--> refused (closes in stages once answered)
///
/// A parser error before the handler runs is answered (400, 431) and refuses the
/// rest; after, the connection just closes, which cancels the running request. NIO's pipelining handler in front
/// delivers one request at a time, so a head arrives only in `awaitingHead`; one
/// arriving elsewhere (behind a refusal) is ignored.
struct HTTPConnectionStateMachine {
    enum State {
        case awaitingHead
        case collecting(HTTPRequestHead, body: ByteBuffer)
        /// The app runs. `keepAlive` is decided when the response head is written.
        case running(HTTPRequestHead, bodyOpen: Bool, keepAlive: Bool)
        /// Answered early (413, 431, 400): the rest of the request is ignored, then it closes.
        case refused
        case closed
    }

    enum HeadAction: Equatable {
        case collect
        /// Run the app now, its body streamed as it arrives.
        case runStreaming(HTTPRequestHead)
        case refuse(HTTPResponseStatus, HTTPVersion)
        case ignore
    }

    enum BodyAction: Equatable {
        case none
        /// Hand the piece to the running request's body stream.
        case forward(ByteBuffer)
        case refuse(HTTPResponseStatus, HTTPVersion)
    }

    enum EndAction: Equatable {
        case none
        case run(HTTPRequestHead, body: ByteBuffer)
        case finishStream
    }

    enum FinishAction: Equatable {
        case none
        case awaitNextRequest
        case close
        /// The response could not be completed (a stream failed): close without an end.
        case abort
    }

    enum ClosedAction: Equatable {
        case none
        /// Cancel the running request; fail its body stream when it was still open.
        case cancelRequest(bodyOpen: Bool)
    }

    private(set) var state = State.awaitingHead
    let maxBody: Int

    init(maxBody: Int) { self.maxBody = maxBody }

    var isAwaitingHead: Bool {
        if case .awaitingHead = state { return true }
        return false
    }

    /// A request head. `refusal` is decided by the handler (header limits, a
    /// declared length over `--max-body`); `streams` says the route reads its body itself.
    mutating func head(_ head: HTTPRequestHead, refusal: HTTPResponseStatus?, streams: Bool) -> HeadAction {
        guard case .awaitingHead = state else { return .ignore }
        if let refusal {
            state = .refused
            return .refuse(refusal, head.version)
        }
        if streams {
            state = .running(head, bodyOpen: true, keepAlive: false)
            return .runStreaming(head)
        }
        state = .collecting(head, body: ByteBuffer())
        return .collect
    }

    mutating func body(_ chunk: ByteBuffer) -> BodyAction {
        switch state {
        case .collecting(let head, var body):
            guard chunk.readableBytes <= maxBody - body.readableBytes else {
                state = .refused
                return .refuse(.payloadTooLarge, head.version)
            }
            state = .closed   // no copy of `body` while it grows
            var piece = chunk
            body.writeBuffer(&piece)
            state = .collecting(head, body: body)
            return .none
        case .running(_, bodyOpen: true, _):
            return .forward(chunk)
        case .awaitingHead, .running, .refused, .closed:
            return .none
        }
    }

    mutating func end() -> EndAction {
        switch state {
        case .collecting(let head, let body):
            state = .running(head, bodyOpen: false, keepAlive: false)
            return .run(head, body: body)
        case .running(let head, bodyOpen: true, let keepAlive):
            state = .running(head, bodyOpen: false, keepAlive: keepAlive)
            return .finishStream
        case .refused:
            // The refusal closes in stages once written; closing here would reset it.
            return .none
        case .awaitingHead, .running, .closed:
            return .none
        }
    }

    /// The response head is about to be written: whether the connection stays open
    /// after it. Not when the client or the drain says close, not while a streamed
    /// request body is still arriving (the connection's state would be unknown), and
    /// not for an HTTP/1.0 response of unknown length (its end is the close).
    mutating func responseHeadWritten(draining: Bool, knownLength: Bool) -> Bool {
        guard case .running(let head, let bodyOpen, _) = state else { return false }
        let http10 = head.version.major == 1 && head.version.minor == 0
        let keepAlive = head.isKeepAlive && !draining && !bodyOpen && (knownLength || !http10)
        state = .running(head, bodyOpen: bodyOpen, keepAlive: keepAlive)
        return keepAlive
    }

    mutating func responseFinished(aborted: Bool) -> FinishAction {
        guard case .running(_, _, let keepAlive) = state else { return .none }
        if aborted {
            state = .closed
            return .abort
        }
        state = keepAlive ? .awaitingHead : .closed
        return keepAlive ? .awaitNextRequest : .close
    }

    var isRefused: Bool {
        if case .refused = state { return true }
        return false
    }

    /// The answer to a request `RequestDecoder` refused (`RequestDecodingError` says
    /// which error it throws for what): 431 for a head too large, 414 for a request
    /// line too long, 501 for a method it does not know (RFC 9110 9.1), 505 for a
    /// version other than 1.x, 400 for the rest.
    static func status(for error: HTTPParserError) -> HTTPResponseStatus {
        switch error {
        case .headerOverflow: .requestHeaderFieldsTooLarge
        case .invalidURL: .uriTooLong
        case .invalidMethod: .notImplemented
        case .invalidVersion: .httpVersionNotSupported
        default: .badRequest
        }
    }

    /// The decoder refused the bytes: answered while no response has started.
    mutating func parserError(_ error: HTTPParserError) -> HeadAction {
        switch state {
        case .awaitingHead, .collecting:
            state = .refused
            return .refuse(Self.status(for: error), .http1_1)
        case .running, .refused, .closed:
            // The connection closes next; a running request is cancelled then.
            return .ignore
        }
    }

    mutating func channelClosed() -> ClosedAction {
        defer { state = .closed }
        if case .running(_, let bodyOpen, _) = state { return .cancelRequest(bodyOpen: bodyOpen) }
        return .none
    }
}
