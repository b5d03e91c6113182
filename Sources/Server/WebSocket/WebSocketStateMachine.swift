import NIOWebSocket

/// The closing handshake and keep-alive of one WebSocket (RFC 6455 5.5 and 7), as a
/// value: events in, actions out. `WebSocketConnectionHandler` carries them out.
///
///     open(awaitingPong) --we close--> closing --peer's close--> closed
///        |                                |
///        +--peer's close (echoed)---------+----------------------> closed
///        +--connection ends (from any state)-------------------> closed
///
/// The app hears of the close exactly once: with the peer's code, or with none
/// when the connection just ended.
struct WebSocketStateMachine: Equatable {
    enum State: Equatable {
        /// `awaitingPong`: our keep-alive ping has not been answered yet.
        case open(awaitingPong: Bool)
        /// We sent a close frame and wait for the peer's.
        case closing
        case closed
    }

    enum PeerCloseAction: Equatable {
        /// Tell the app, echo the code, then close the connection.
        case reportAndEcho(WebSocketErrorCode?)
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

    mutating func peerClosed(code: WebSocketErrorCode?) -> PeerCloseAction {
        switch state {
        case .open:
            state = .closed
            return .reportAndEcho(code)
        case .closing:
            state = .closed
            return .reportAndClose(code)
        case .closed:
            return .none
        }
    }

    /// We want to close (a protocol error, the drain, a missing pong): true when a
    /// close frame should be sent now.
    mutating func closeRequested() -> Bool {
        guard case .open = state else { return false }
        state = .closing
        return true
    }

    mutating func pingTimerFired() -> PingAction {
        switch state {
        case .open(awaitingPong: false):
            state = .open(awaitingPong: true)
            return .sendPing
        case .open(awaitingPong: true):
            return .close(.goingAway)
        case .closing, .closed:
            return .none
        }
    }

    mutating func pongReceived() {
        if case .open = state { state = .open(awaitingPong: false) }
    }

    /// The connection ended: true when the app has not heard of the close yet.
    mutating func connectionEnded() -> Bool {
        defer { state = .closed }
        return state != .closed
    }
}
