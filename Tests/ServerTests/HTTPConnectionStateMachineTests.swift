import NIOCore
import NIOHTTP1
@testable import Server
import Testing

private typealias Machine = HTTPConnectionStateMachine
private typealias BodyAction = HTTPConnectionStateMachine.BodyAction
private typealias EndAction = HTTPConnectionStateMachine.EndAction
private typealias FinishAction = HTTPConnectionStateMachine.FinishAction
private typealias ClosedAction = HTTPConnectionStateMachine.ClosedAction

/// `HTTPConnectionStateMachine.State` is not `Equatable`: this mirror of it is, so
/// each test can assert the exact state, head and body included.
private enum Seen: Equatable {
    case awaitingHead
    case collecting(HTTPRequestHead, body: ByteBuffer)
    case running(HTTPRequestHead, bodyOpen: Bool, keepAlive: Bool)
    case refused
    case closed
}

extension HTTPConnectionStateMachine {
    fileprivate var seen: Seen {
        switch state {
        case .awaitingHead: .awaitingHead
        case .collecting(let head, let body): .collecting(head, body: body)
        case .running(let head, let bodyOpen, let keepAlive): .running(head, bodyOpen: bodyOpen, keepAlive: keepAlive)
        case .refused: .refused
        case .closed: .closed
        }
    }
}

private func head(_ version: HTTPVersion = .http1_1, _ headers: [(String, String)] = []) -> HTTPRequestHead {
    HTTPRequestHead(version: version, method: .GET, uri: "/x", headers: HTTPHeaders(headers))
}

private func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

/// The request cycle of one connection, without a channel.
/// (`== true` and `== false` because `#expect` cannot decompose a bare mutating call.)
@Suite struct HTTPConnectionStateMachineTests {
    // MARK: - Machines in a given state

    /// A machine collecting `request`'s body (nothing received yet).
    private func collectingMachine(_ request: HTTPRequestHead, maxBody: Int = 100) -> Machine {
        var machine = Machine(maxBody: maxBody)
        #expect(machine.head(request, refusal: nil, streams: false) == .collect)
        return machine
    }

    /// A machine running `request`, its body complete.
    private func runningMachine(_ request: HTTPRequestHead) -> Machine {
        var machine = collectingMachine(request)
        #expect(machine.end() == .run(request, body: ByteBuffer()))
        return machine
    }

    /// A machine running `request` on a streaming route, its body still arriving.
    private func streamingMachine(_ request: HTTPRequestHead, maxBody: Int = 100) -> Machine {
        var machine = Machine(maxBody: maxBody)
        #expect(machine.head(request, refusal: nil, streams: true) == .runStreaming(request))
        return machine
    }

    /// A machine that refused its request's body.
    private func refusedMachine() -> Machine {
        var machine = collectingMachine(head(), maxBody: 1)
        #expect(machine.body(bytes("ab")) == .refuse(.payloadTooLarge, .http1_1))
        return machine
    }

    /// A machine whose connection closed after a response.
    private func closedMachine() -> Machine {
        var machine = runningMachine(head(.http1_1, [("Connection", "close")]))
        #expect(machine.responseHeadWritten(draining: false, knownLength: true) == false)
        #expect(machine.responseFinished(aborted: false) == .close)
        return machine
    }

    // MARK: - The cycle and keep-alive

    @Test func aNewConnectionAwaitsAHead() {
        let machine = Machine(maxBody: 10)
        #expect(machine.maxBody == 10)
        #expect(machine.isAwaitingHead)
        #expect(machine.seen == .awaitingHead)
    }

    @Test func aCollectedRequestRunsAtItsEndAndTheConnectionThenAwaitsTheNextHead() {
        var machine = Machine(maxBody: 100)
        let request = head()
        #expect(machine.head(request, refusal: nil, streams: false) == .collect)
        #expect(!machine.isAwaitingHead)
        #expect(machine.seen == .collecting(request, body: ByteBuffer()))
        #expect(machine.body(bytes("ab")) == BodyAction.none)
        #expect(machine.body(bytes("cd")) == BodyAction.none)
        #expect(machine.seen == .collecting(request, body: bytes("abcd")))
        #expect(machine.end() == .run(request, body: bytes("abcd")))
        #expect(machine.seen == .running(request, bodyOpen: false, keepAlive: false))
        #expect(!machine.isAwaitingHead)
        #expect(machine.responseHeadWritten(draining: false, knownLength: true) == true)
        #expect(machine.seen == .running(request, bodyOpen: false, keepAlive: true))
        #expect(machine.responseFinished(aborted: false) == .awaitNextRequest)
        #expect(machine.isAwaitingHead)
        #expect(machine.seen == .awaitingHead)

        // The next request on the same connection goes round again, its body fresh.
        let next = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/y", headers: HTTPHeaders([("Content-Length", "1")]))
        #expect(machine.head(next, refusal: nil, streams: false) == .collect)
        #expect(machine.seen == .collecting(next, body: ByteBuffer()))
        #expect(machine.body(bytes("z")) == BodyAction.none)
        #expect(machine.end() == .run(next, body: bytes("z")))
    }

    @Test func anHTTP11ResponseOfUnknownLengthKeepsTheConnection() {
        let request = head()
        var machine = runningMachine(request)
        #expect(machine.responseHeadWritten(draining: false, knownLength: false) == true)
        #expect(machine.seen == .running(request, bodyOpen: false, keepAlive: true))
        #expect(machine.responseFinished(aborted: false) == .awaitNextRequest)
        #expect(machine.seen == .awaitingHead)
    }

    @Test func anExplicitKeepAliveFromAnHTTP11ClientKeepsTheConnection() {
        var machine = runningMachine(head(.http1_1, [("Connection", "keep-alive")]))
        #expect(machine.responseHeadWritten(draining: false, knownLength: true) == true)
        #expect(machine.responseFinished(aborted: false) == .awaitNextRequest)
    }

    @Test func aClientAskingToCloseHasItsConnectionClosedAfterTheResponse() {
        let request = head(.http1_1, [("Connection", "close")])
        var machine = runningMachine(request)
        #expect(machine.responseHeadWritten(draining: false, knownLength: true) == false)
        #expect(machine.seen == .running(request, bodyOpen: false, keepAlive: false))
        #expect(machine.responseFinished(aborted: false) == .close)
        #expect(machine.seen == .closed)
        #expect(!machine.isAwaitingHead)
    }

    @Test func aDrainingWorkerClosesTheConnectionAfterTheResponse() {
        let request = head()
        var machine = runningMachine(request)
        #expect(machine.responseHeadWritten(draining: true, knownLength: true) == false)
        #expect(machine.seen == .running(request, bodyOpen: false, keepAlive: false))
        #expect(machine.responseFinished(aborted: false) == .close)
        #expect(machine.seen == .closed)
    }

    @Test func anHTTP10RequestWithoutKeepAliveIsClosedEvenWithAKnownLength() {
        let request = head(.http1_0)
        var machine = runningMachine(request)
        #expect(machine.responseHeadWritten(draining: false, knownLength: true) == false)
        #expect(machine.seen == .running(request, bodyOpen: false, keepAlive: false))
        #expect(machine.responseFinished(aborted: false) == .close)
        #expect(machine.seen == .closed)
    }

    @Test func anHTTP10KeepAliveRequestStaysOpenOnlyForAResponseOfKnownLength() {
        let request = head(.http1_0, [("Connection", "keep-alive")])

        var known = runningMachine(request)
        #expect(known.responseHeadWritten(draining: false, knownLength: true) == true)
        #expect(known.seen == .running(request, bodyOpen: false, keepAlive: true))
        #expect(known.responseFinished(aborted: false) == .awaitNextRequest)
        #expect(known.seen == .awaitingHead)

        // Without a length, the end of an HTTP/1.0 response is the close.
        var unknown = runningMachine(request)
        #expect(unknown.responseHeadWritten(draining: false, knownLength: false) == false)
        #expect(unknown.seen == .running(request, bodyOpen: false, keepAlive: false))
        #expect(unknown.responseFinished(aborted: false) == .close)
        #expect(unknown.seen == .closed)

        // And the drain wins over the client's wish.
        var draining = runningMachine(request)
        #expect(draining.responseHeadWritten(draining: true, knownLength: true) == false)
        #expect(draining.responseFinished(aborted: false) == .close)
    }

    @Test func theLastResponseHeadDecidesKeepAlive() {
        let request = head()
        var machine = runningMachine(request)
        #expect(machine.responseHeadWritten(draining: false, knownLength: true) == true)
        #expect(machine.responseHeadWritten(draining: true, knownLength: true) == false)
        #expect(machine.seen == .running(request, bodyOpen: false, keepAlive: false))
        #expect(machine.responseFinished(aborted: false) == .close)
    }

    @Test func aResponseHeadWithNothingRunningIsRefusedKeepAliveAndChangesNothing() {
        var waiting = Machine(maxBody: 10)
        #expect(waiting.responseHeadWritten(draining: false, knownLength: true) == false)
        #expect(waiting.seen == .awaitingHead)

        let request = head()
        var collecting = collectingMachine(request)
        #expect(collecting.responseHeadWritten(draining: false, knownLength: true) == false)
        #expect(collecting.seen == .collecting(request, body: ByteBuffer()))

        var refused = refusedMachine()
        #expect(refused.responseHeadWritten(draining: false, knownLength: true) == false)
        #expect(refused.seen == .refused)

        var closed = closedMachine()
        #expect(closed.responseHeadWritten(draining: false, knownLength: true) == false)
        #expect(closed.seen == .closed)
    }

    // MARK: - Streaming routes

    @Test func aStreamingRouteRunsAtTheHeadAndGetsEveryPieceThenTheEnd() {
        let request = head(.http1_1, [("Transfer-Encoding", "chunked")])
        var machine = streamingMachine(request, maxBody: 2)
        #expect(machine.seen == .running(request, bodyOpen: true, keepAlive: false))
        // The route reads its body itself: `--max-body` is its business, not the machine's.
        #expect(machine.body(bytes("0123456789")) == .forward(bytes("0123456789")))
        #expect(machine.body(bytes("ab")) == .forward(bytes("ab")))
        #expect(machine.seen == .running(request, bodyOpen: true, keepAlive: false))
        #expect(machine.end() == .finishStream)
        #expect(machine.seen == .running(request, bodyOpen: false, keepAlive: false))
        // Nothing more is forwarded or finished once the body ended.
        #expect(machine.body(bytes("late")) == BodyAction.none)
        #expect(machine.end() == EndAction.none)
        #expect(machine.seen == .running(request, bodyOpen: false, keepAlive: false))
    }

    @Test func aStreamedBodyThatEndedBeforeTheResponseKeepsTheConnection() {
        let request = head()
        var machine = streamingMachine(request)
        #expect(machine.body(bytes("x")) == .forward(bytes("x")))
        #expect(machine.end() == .finishStream)
        #expect(machine.responseHeadWritten(draining: false, knownLength: true) == true)
        #expect(machine.seen == .running(request, bodyOpen: false, keepAlive: true))
        #expect(machine.responseFinished(aborted: false) == .awaitNextRequest)
        #expect(machine.seen == .awaitingHead)
    }

    @Test func aStreamedBodyStillArrivingWhenTheResponseStartsClosesTheConnection() {
        let request = head()
        var machine = streamingMachine(request)
        #expect(machine.responseHeadWritten(draining: false, knownLength: true) == false)
        #expect(machine.seen == .running(request, bodyOpen: true, keepAlive: false))
        // The body still reaches the route, and its end keeps the decision.
        #expect(machine.body(bytes("x")) == .forward(bytes("x")))
        #expect(machine.end() == .finishStream)
        #expect(machine.seen == .running(request, bodyOpen: false, keepAlive: false))
        #expect(machine.responseFinished(aborted: false) == .close)
        #expect(machine.seen == .closed)
    }

    @Test func aResponseFinishedBeforeItsStreamedBodyEndedClosesAndTheLateEndIsIgnored() {
        var machine = streamingMachine(head())
        #expect(machine.responseHeadWritten(draining: false, knownLength: true) == false)
        #expect(machine.responseFinished(aborted: false) == .close)
        #expect(machine.seen == .closed)
        #expect(machine.body(bytes("x")) == BodyAction.none)
        #expect(machine.end() == EndAction.none)
        #expect(machine.seen == .closed)
    }

    // MARK: - The body limit

    @Test func aBodyOfExactlyTheLimitIsAccepted() {
        let request = head()
        var inPieces = collectingMachine(request, maxBody: 4)
        #expect(inPieces.body(bytes("ab")) == BodyAction.none)
        #expect(inPieces.body(bytes("cd")) == BodyAction.none)
        #expect(inPieces.end() == .run(request, body: bytes("abcd")))

        var inOne = collectingMachine(request, maxBody: 4)
        #expect(inOne.body(bytes("abcd")) == BodyAction.none)
        #expect(inOne.end() == .run(request, body: bytes("abcd")))

        var empty = collectingMachine(request, maxBody: 0)
        #expect(empty.body(ByteBuffer()) == BodyAction.none)
        #expect(empty.end() == .run(request, body: ByteBuffer()))
    }

    @Test func aBodyOverTheLimitIsRefusedThenTheRestIgnored() {
        let request = head()
        var machine = collectingMachine(request, maxBody: 4)
        #expect(machine.body(bytes("abc")) == BodyAction.none)
        #expect(machine.body(bytes("de")) == .refuse(.payloadTooLarge, .http1_1))
        #expect(machine.seen == .refused)
        #expect(machine.body(bytes("f")) == BodyAction.none)
        #expect(machine.seen == .refused)
        // The refusal closes in stages once written: its end changes nothing.
        #expect(machine.end() == EndAction.none)
        #expect(machine.seen == .refused)
        #expect(machine.body(bytes("g")) == BodyAction.none)
        #expect(machine.head(request, refusal: nil, streams: false) == .ignore)
        #expect(machine.seen == .refused)
    }

    @Test func aSinglePieceOverTheLimitIsRefusedInTheRequestsVersion() {
        var machine = collectingMachine(head(.http1_0), maxBody: 4)
        #expect(machine.body(bytes("abcde")) == .refuse(.payloadTooLarge, .http1_0))
        #expect(machine.seen == .refused)
    }

    // MARK: - Refused heads and heads out of turn

    @Test func aRefusedHeadIsAnsweredInItsVersionAndTheRestIgnored() {
        var machine = Machine(maxBody: 100)
        let request = head(.http1_0)
        #expect(machine.head(request, refusal: .requestHeaderFieldsTooLarge, streams: false)
            == .refuse(.requestHeaderFieldsTooLarge, .http1_0))
        #expect(machine.seen == .refused)
        #expect(!machine.isAwaitingHead)
        #expect(machine.body(bytes("x")) == BodyAction.none)
        #expect(machine.seen == .refused)
        #expect(machine.end() == EndAction.none)
        #expect(machine.seen == .refused)
    }

    @Test func aRefusalWinsOverAStreamingRoute() {
        var machine = Machine(maxBody: 100)
        #expect(machine.head(head(), refusal: .payloadTooLarge, streams: true) == .refuse(.payloadTooLarge, .http1_1))
        #expect(machine.seen == .refused)
        #expect(machine.body(bytes("x")) == BodyAction.none)
    }

    @Test func aHeadArrivingWhileARequestIsCollectedRunsOrWasRefusedIsIgnored() {
        let first = head()
        let second = HTTPRequestHead(version: .http1_1, method: .DELETE, uri: "/other")

        var collecting = collectingMachine(first)
        #expect(collecting.body(bytes("a")) == BodyAction.none)
        #expect(collecting.head(second, refusal: nil, streams: false) == .ignore)
        #expect(collecting.head(second, refusal: .badRequest, streams: true) == .ignore)
        #expect(collecting.seen == .collecting(first, body: bytes("a")))

        var running = runningMachine(first)
        #expect(running.head(second, refusal: nil, streams: false) == .ignore)
        #expect(running.head(second, refusal: nil, streams: true) == .ignore)
        #expect(running.seen == .running(first, bodyOpen: false, keepAlive: false))

        var streaming = streamingMachine(first)
        #expect(streaming.head(second, refusal: .payloadTooLarge, streams: false) == .ignore)
        #expect(streaming.seen == .running(first, bodyOpen: true, keepAlive: false))

        var refused = refusedMachine()
        #expect(refused.head(second, refusal: nil, streams: false) == .ignore)
        #expect(refused.seen == .refused)

        var closed = closedMachine()
        #expect(closed.head(second, refusal: nil, streams: false) == .ignore)
        #expect(closed.seen == .closed)
    }

    @Test func aBodyOrAnEndWithNoRequestIsIgnored() {
        var machine = Machine(maxBody: 10)
        #expect(machine.body(bytes("x")) == BodyAction.none)
        #expect(machine.end() == EndAction.none)
        #expect(machine.seen == .awaitingHead)

        let request = head()
        var running = runningMachine(request)
        #expect(running.body(bytes("x")) == BodyAction.none)
        #expect(running.end() == EndAction.none)
        #expect(running.seen == .running(request, bodyOpen: false, keepAlive: false))
    }

    // MARK: - Parser errors

    @Test func aParserErrorBeforeTheAppRunsIsAnsweredAndItsEndChangesNothing() {
        var overflow = Machine(maxBody: 10)
        #expect(overflow.parserError(.headerOverflow) == .refuse(.requestHeaderFieldsTooLarge, .http1_1))
        #expect(overflow.seen == .refused)
        #expect(overflow.body(bytes("x")) == BodyAction.none)
        #expect(overflow.end() == EndAction.none)
        #expect(overflow.seen == .refused)

        var badLine = Machine(maxBody: 10)
        #expect(badLine.parserError(.invalidConstant) == .refuse(.badRequest, .http1_1))
        #expect(badLine.seen == .refused)
        // RequestDecoder's request line over the limit.
        var longLine = Machine(maxBody: 10)
        #expect(longLine.parserError(.invalidURL) == .refuse(.uriTooLong, .http1_1))

        // While a body is collected, too.
        var chunked = collectingMachine(head())
        #expect(chunked.body(bytes("a")) == BodyAction.none)
        #expect(chunked.parserError(.invalidChunkSize) == .refuse(.badRequest, .http1_1))
        #expect(chunked.seen == .refused)
        #expect(chunked.end() == EndAction.none)

        var overflowWhileCollecting = collectingMachine(head())
        #expect(overflowWhileCollecting.parserError(.headerOverflow) == .refuse(.requestHeaderFieldsTooLarge, .http1_1))
    }

    @Test func aParserErrorOnceTheAppRunsOrAfterARefusalIsNotAnswered() {
        var running = runningMachine(head())
        #expect(running.parserError(.invalidChunkSize) == .ignore)
        #expect(running.seen == .running(head(), bodyOpen: false, keepAlive: false))   // the close cancels it

        var streaming = streamingMachine(head())
        #expect(streaming.parserError(.headerOverflow) == .ignore)
        #expect(streaming.seen == .running(head(), bodyOpen: true, keepAlive: false))

        var refused = refusedMachine()
        #expect(refused.parserError(.invalidURL) == .ignore)
        #expect(refused.seen == .refused)

        var closed = closedMachine()
        #expect(closed.parserError(.headerOverflow) == .ignore)
        #expect(closed.seen == .closed)
    }

    /// A malformed chunk in a streamed body must not leave the route waiting on it
    /// for ever: the close that follows cancels the request and fails its body.
    @Test func aParserErrorWhileAStreamedBodyArrivesStillLetsTheCloseCancelTheRequest() {
        var machine = streamingMachine(head())
        #expect(machine.parserError(.invalidChunkSize) == .ignore)
        #expect(machine.channelClosed() == .cancelRequest(bodyOpen: true))
        #expect(machine.seen == .closed)
    }

    // MARK: - The end of a response

    @Test func anAbortedResponseClosesWithoutAnEndEvenWhenTheConnectionWouldStay() {
        let request = head()
        var kept = runningMachine(request)
        #expect(kept.responseHeadWritten(draining: false, knownLength: true) == true)
        #expect(kept.responseFinished(aborted: true) == .abort)
        #expect(kept.seen == .closed)

        var streamed = streamingMachine(request)
        #expect(streamed.responseFinished(aborted: true) == .abort)
        #expect(streamed.seen == .closed)
    }

    @Test func aResponseFinishingWithNothingRunningDoesNothing() {
        var waiting = Machine(maxBody: 10)
        #expect(waiting.responseFinished(aborted: false) == FinishAction.none)
        #expect(waiting.responseFinished(aborted: true) == FinishAction.none)
        #expect(waiting.seen == .awaitingHead)

        let request = head()
        var collecting = collectingMachine(request)
        #expect(collecting.responseFinished(aborted: false) == FinishAction.none)
        #expect(collecting.seen == .collecting(request, body: ByteBuffer()))

        var refused = refusedMachine()
        #expect(refused.responseFinished(aborted: true) == FinishAction.none)
        #expect(refused.seen == .refused)

        var closed = closedMachine()
        #expect(closed.responseFinished(aborted: false) == FinishAction.none)
        #expect(closed.seen == .closed)
    }

    // MARK: - The client leaving

    @Test func aClientLeavingWhileItsBodyStreamsCancelsTheRequestAndFailsTheBody() {
        var machine = streamingMachine(head())
        #expect(machine.channelClosed() == .cancelRequest(bodyOpen: true))
        #expect(machine.seen == .closed)
        #expect(machine.channelClosed() == ClosedAction.none)
    }

    @Test func aClientLeavingARunningRequestWithItsBodyCompleteCancelsOnlyTheRequest() {
        var collected = runningMachine(head())
        #expect(collected.channelClosed() == .cancelRequest(bodyOpen: false))
        #expect(collected.seen == .closed)

        var streamed = streamingMachine(head())
        #expect(streamed.end() == .finishStream)
        #expect(streamed.responseHeadWritten(draining: true, knownLength: true) == false)
        #expect(streamed.channelClosed() == .cancelRequest(bodyOpen: false))
        #expect(streamed.seen == .closed)
    }

    @Test func aClientLeavingWithNoRequestRunningCancelsNothing() {
        var waiting = Machine(maxBody: 10)
        #expect(waiting.channelClosed() == ClosedAction.none)
        #expect(waiting.seen == .closed)
        #expect(!waiting.isAwaitingHead)

        var collecting = collectingMachine(head())
        #expect(collecting.body(bytes("a")) == BodyAction.none)
        #expect(collecting.channelClosed() == ClosedAction.none)
        #expect(collecting.seen == .closed)

        var refused = refusedMachine()
        #expect(refused.channelClosed() == ClosedAction.none)
        #expect(refused.seen == .closed)

        var closed = closedMachine()
        #expect(closed.channelClosed() == ClosedAction.none)
        #expect(closed.seen == .closed)
    }

    @Test func nothingHappensOnAClosedConnection() {
        var machine = Machine(maxBody: 10)
        _ = machine.channelClosed()
        #expect(machine.head(head(), refusal: nil, streams: false) == .ignore)
        #expect(machine.head(head(), refusal: nil, streams: true) == .ignore)
        #expect(machine.body(bytes("x")) == BodyAction.none)
        #expect(machine.end() == EndAction.none)
        #expect(machine.responseHeadWritten(draining: false, knownLength: true) == false)
        #expect(machine.responseFinished(aborted: false) == FinishAction.none)
        #expect(machine.seen == .closed)
    }
}
