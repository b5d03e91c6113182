import NIOWebSocket

/// The closing handshake and keep-alive of one WebSocket (RFC 6455 5.5 and 7), as a
/// value: events in, actions out. `WebSocketConnectionHandler` carries them out.
///
///     open(awaitingPong) --we close--> closing --peer's close--> closed
///        |                              ^
///        +--peer breaks the protocol--> failing --app caught up--+
///        +--peer's close--> answering --our reply sent--> closed
///        +--connection ends (from any state)----------------------> closed
///
/// A peer's Close is answered only after the app has handled every message that
/// came before it (its echo goes out first): `answering` waits for that. So is a
/// peer's protocol violation (`failing`): nothing after it is taken, but what came
/// before is still answered, then our Close says why. Data is delivered only while
/// open; the app may write while open, answering or failing; after our Close
/// nothing but the peer's Close is processed, and nothing more is sent. The app
/// hears of the close exactly once.
struct WebSocketStateMachine: Equatable {
    enum State: Equatable {
        /// `awaitingPong`: our keep-alive ping has not been answered yet.
        case open(awaitingPong: Bool)
        /// We sent a close frame and wait for the peer's.
        case closing
        /// The peer closed; our reply waits for the app to catch up.
        case answering
        /// The peer broke the protocol; our Close waits for the app to catch up.
        case failing
        case closed
    }

    enum PeerCloseAction: Equatable {
        /// Tell the app (after what came before), then answer with `reply` (nil: an
        /// empty close frame, as the peer sent no code) and close the connection.
        case reportThenReply(report: WebSocketErrorCode?, reply: UInt16?)
        /// Tell the app and close the connection: the handshake is complete.
        case reportAndClose(WebSocketErrorCode?)
        case none
    }

    enum PingAction: Equatable {
        case sendPing
        /// The last ping went unanswered: close with 1001.
        case close(WebSocketErrorCode)
        case none
    }

    private(set) var state = State.open(awaitingPong: false)

    /// The peer's Close, judged by `WebSocketCloseRules`.
    mutating func peerClosed(_ verdict: WebSocketCloseRules.Verdict) -> PeerCloseAction {
        let report: WebSocketErrorCode? = if case .valid(let code?) = verdict { WebSocketErrorCode(codeNumber: Int(code)) } else { nil }
        switch state {
        case .open:
            state = .answering
            if case .valid(let code) = verdict { return .reportThenReply(report: report, reply: code) }
            return .reportThenReply(report: nil, reply: 1002)
        case .closing:
            state = .closed
            return .reportAndClose(report)
        case .failing:
            // The peer closes first: the handshake is its, answered after the app caught up.
            state = .answering
            if case .valid(let code) = verdict { return .reportThenReply(report: report, reply: code) }
            return .reportThenReply(report: nil, reply: 1002)
        case .answering, .closed:
            return .none
        }
    }

    /// The app caught up: true when the reply to the peer's Close should be sent now.
    mutating func replyDue() -> Bool {
        guard state == .answering else { return false }
        state = .closed
        return true
    }

    /// We want to close (the drain, a missing pong, the app's own close, or a
    /// violation once the app caught up): true when a close frame should be sent now.
    mutating func closeRequested() -> Bool {
        switch state {
        case .open, .failing:
            state = .closing
            return true
        case .closing, .answering, .closed:
            return false
        }
    }

    /// The peer broke the protocol: true when our Close should be scheduled (after
    /// the app has handled what came before).
    mutating func violated() -> Bool {
        guard case .open = state else { return false }
        state = .failing
        return true
    }

    mutating func pingTimerFired() -> PingAction {
        switch state {
        case .open(awaitingPong: false):
            state = .open(awaitingPong: true)
            return .sendPing
        case .open(awaitingPong: true):
            return .close(.goingAway)
        case .closing, .answering, .failing, .closed:
            return .none
        }
    }

    mutating func pongReceived() {
        if case .open = state { state = .open(awaitingPong: false) }
    }

    /// Messages (and pings to answer) are taken only while open.
    var acceptsData: Bool {
        if case .open = state { return true }
        return false
    }

    /// The app's frames go out while open, and while its last messages are answered.
    var acceptsWrites: Bool {
        switch state {
        case .open, .answering, .failing: true
        case .closing, .closed: false
        }
    }

    /// The connection ended: true when the app has not heard of the close yet.
    mutating func connectionEnded() -> Bool {
        defer { state = .closed }
        switch state {
        case .open, .closing, .failing: return true
        case .answering, .closed: return false
        }
    }
}
