import NIOWebSocket
@testable import Server
import Testing

private typealias PeerCloseAction = WebSocketStateMachine.PeerCloseAction
private typealias PingAction = WebSocketStateMachine.PingAction

/// The closing handshake and keep-alive of one WebSocket, without a channel.
/// (`== true` and `== false` because `#expect` cannot decompose a bare mutating call.)
@Suite struct WebSocketStateMachineTests {
    /// A machine that sent its close frame and waits for the peer's.
    private func closingMachine() -> WebSocketStateMachine {
        var machine = WebSocketStateMachine()
        #expect(machine.closeRequested() == true)
        #expect(machine.state == .closing)
        return machine
    }

    /// A machine whose peer closed first.
    private func closedMachine() -> WebSocketStateMachine {
        var machine = WebSocketStateMachine()
        #expect(machine.peerClosed(code: .normalClosure) == .reportAndEcho(.normalClosure))
        #expect(machine.state == .closed)
        return machine
    }

    @Test func aNewSocketIsOpenWithNoPingOutstanding() {
        #expect(WebSocketStateMachine().state == .open(awaitingPong: false))
    }

    // MARK: - The closing handshake

    @Test func aPeerCloseWhileOpenIsReportedAndEchoedOnce() {
        var machine = WebSocketStateMachine()
        #expect(machine.peerClosed(code: .goingAway) == .reportAndEcho(.goingAway))
        #expect(machine.state == .closed)
        #expect(machine.peerClosed(code: .goingAway) == PeerCloseAction.none)
        #expect(machine.connectionEnded() == false)
        #expect(machine.state == .closed)
    }

    @Test func aPeerCloseWithoutACodeIsReportedWithout() {
        var machine = WebSocketStateMachine()
        #expect(machine.peerClosed(code: nil) == .reportAndEcho(nil))
        #expect(machine.state == .closed)
    }

    @Test func aPeerCloseWithAnApplicationCodeKeepsTheCode() {
        var machine = WebSocketStateMachine()
        #expect(machine.peerClosed(code: .unknown(4000)) == .reportAndEcho(.unknown(4000)))
    }

    @Test func aPeerCloseWhileAPingIsOutstandingIsStillEchoed() {
        var machine = WebSocketStateMachine()
        #expect(machine.pingTimerFired() == .sendPing)
        #expect(machine.peerClosed(code: .normalClosure) == .reportAndEcho(.normalClosure))
        #expect(machine.state == .closed)
    }

    @Test func ourCloseThenThePeersCompletesTheHandshake() {
        var machine = closingMachine()
        #expect(machine.peerClosed(code: .normalClosure) == .reportAndClose(.normalClosure))
        #expect(machine.state == .closed)
        #expect(machine.peerClosed(code: .normalClosure) == PeerCloseAction.none)
        #expect(machine.connectionEnded() == false)
    }

    @Test func thePeersAnswerToOurCloseMayCarryNoCode() {
        var machine = closingMachine()
        #expect(machine.peerClosed(code: nil) == .reportAndClose(nil))
    }

    @Test func aCloseFrameIsSentOnlyOnce() {
        var machine = WebSocketStateMachine()
        #expect(machine.closeRequested() == true)
        #expect(machine.state == .closing)
        #expect(machine.closeRequested() == false)
        #expect(machine.state == .closing)
    }

    @Test func noCloseFrameIsSentOnceClosed() {
        var machine = closedMachine()
        #expect(machine.closeRequested() == false)
        #expect(machine.state == .closed)
    }

    @Test func aCloseCanBeRequestedWhileAPingIsOutstanding() {
        var machine = WebSocketStateMachine()
        #expect(machine.pingTimerFired() == .sendPing)
        #expect(machine.closeRequested() == true)
        #expect(machine.state == .closing)
    }

    // MARK: - Keep-alive

    @Test func theFirstTickSendsAPingAndTheNextUnansweredOneCloses() {
        var machine = WebSocketStateMachine()
        #expect(machine.pingTimerFired() == .sendPing)
        #expect(machine.state == .open(awaitingPong: true))
        #expect(machine.pingTimerFired() == .close(.goingAway))
        // The handler closes through `closeRequested`: the tick alone changes nothing.
        #expect(machine.state == .open(awaitingPong: true))
        #expect(machine.closeRequested() == true)
        #expect(machine.pingTimerFired() == PingAction.none)
        #expect(machine.state == .closing)
    }

    @Test func aPongAnswersThePing() {
        var machine = WebSocketStateMachine()
        #expect(machine.pingTimerFired() == .sendPing)
        machine.pongReceived()
        #expect(machine.state == .open(awaitingPong: false))
        #expect(machine.pingTimerFired() == .sendPing)
        #expect(machine.state == .open(awaitingPong: true))
    }

    @Test func anUnaskedPongChangesNothing() {
        var machine = WebSocketStateMachine()
        machine.pongReceived()
        #expect(machine.state == .open(awaitingPong: false))
    }

    @Test func theTimerSendsNothingWhileClosingOrClosed() {
        var closing = closingMachine()
        #expect(closing.pingTimerFired() == PingAction.none)
        #expect(closing.state == .closing)

        var closed = closedMachine()
        #expect(closed.pingTimerFired() == PingAction.none)
        #expect(closed.state == .closed)
    }

    @Test func aPongWhileClosingOrClosedChangesNothing() {
        var closing = closingMachine()
        closing.pongReceived()
        #expect(closing.state == .closing)

        var closed = closedMachine()
        closed.pongReceived()
        #expect(closed.state == .closed)
    }

    // MARK: - The connection ending

    @Test func aConnectionEndingWhileOpenIsReportedOnce() {
        var machine = WebSocketStateMachine()
        #expect(machine.connectionEnded() == true)
        #expect(machine.state == .closed)
        #expect(machine.connectionEnded() == false)
        #expect(machine.peerClosed(code: .normalClosure) == PeerCloseAction.none)
        #expect(machine.closeRequested() == false)
    }

    @Test func aConnectionEndingWithAPingOutstandingIsReported() {
        var machine = WebSocketStateMachine()
        #expect(machine.pingTimerFired() == .sendPing)
        #expect(machine.connectionEnded() == true)
        #expect(machine.state == .closed)
    }

    @Test func aConnectionEndingBeforeThePeerAnsweredOurCloseIsReported() {
        var machine = closingMachine()
        #expect(machine.connectionEnded() == true)
        #expect(machine.state == .closed)
        #expect(machine.connectionEnded() == false)
    }

    @Test func aConnectionEndingAfterTheCloseWasReportedIsNot() {
        var machine = closedMachine()
        #expect(machine.connectionEnded() == false)
        #expect(machine.state == .closed)
    }
}
