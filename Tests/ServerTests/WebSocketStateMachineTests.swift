import NIOWebSocket
@testable import Server
import Testing

/// The closing handshake and keep-alive of one WebSocket, without a channel.
/// (`== true` and `== false` because `#expect` cannot decompose a bare mutating call.)
@Suite struct WebSocketStateMachineTests {
    typealias Action = WebSocketStateMachine.PeerCloseAction

    @Test func aNewSocketIsOpenTakesDataAndWrites() {
        let machine = WebSocketStateMachine()
        #expect(machine.state == .open(awaitingPong: false) && machine.acceptsData && machine.acceptsWrites)
    }

    @Test func aPeersCloseIsAnsweredOnlyOnceTheAppCaughtUp() {
        var machine = WebSocketStateMachine()
        #expect(machine.peerClosed(.valid(code: 1001)) == .reportThenReply(report: .goingAway, reply: 1001))
        #expect(machine.state == .answering)
        #expect(!machine.acceptsData && machine.acceptsWrites)        // the app's last echoes still go out
        #expect(machine.peerClosed(.valid(code: 1000)) == Action.none)
        #expect(machine.replyDue() == true)
        #expect(machine.replyDue() == false)
        #expect(machine.state == .closed && !machine.acceptsWrites)
        #expect(machine.connectionEnded() == false)                    // the close was reported
    }

    @Test func aViolationTakesNothingMoreButLetsTheAppAnswerWhatCameBefore() {
        var machine = WebSocketStateMachine()
        #expect(machine.violated() == true)
        #expect(machine.state == .failing && !machine.acceptsData && machine.acceptsWrites)
        #expect(machine.violated() == false, "one violation is enough")
        #expect(machine.pingTimerFired() == .none)
        #expect(machine.closeRequested() == true, "the app caught up: our Close goes")
        #expect(machine.state == .closing && !machine.acceptsWrites)
        // The peer may close first while we wait for the app: its handshake then.
        var raced = WebSocketStateMachine()
        _ = raced.violated()
        #expect(raced.peerClosed(.valid(code: 1000)) == .reportThenReply(report: .normalClosure, reply: 1000))
        #expect(raced.closeRequested() == false)
        var ended = WebSocketStateMachine()
        _ = ended.violated()
        #expect(ended.connectionEnded() == true, "the app has not heard of the close yet")
    }

    @Test func aCloseWithoutACodeIsAnsweredWithoutOne() {
        var machine = WebSocketStateMachine()
        #expect(machine.peerClosed(.valid(code: nil)) == .reportThenReply(report: nil, reply: nil))
    }

    @Test func aMalformedCloseIsAnsweredWith1002() {
        var machine = WebSocketStateMachine()
        #expect(machine.peerClosed(.protocolError) == .reportThenReply(report: nil, reply: 1002))
    }

    @Test func anApplicationCodeIsReportedAsItCame() {
        var machine = WebSocketStateMachine()
        #expect(machine.peerClosed(.valid(code: 4000)) == .reportThenReply(report: .unknown(4000), reply: 4000))
    }

    @Test func ourCloseThenThePeersCompletesTheHandshake() {
        var machine = WebSocketStateMachine()
        #expect(machine.closeRequested() == true)
        #expect(machine.closeRequested() == false)                     // sent once
        #expect(machine.state == .closing && !machine.acceptsData && !machine.acceptsWrites)
        #expect(machine.peerClosed(.valid(code: 1000)) == .reportAndClose(.normalClosure))
        #expect(machine.state == .closed)
        #expect(machine.connectionEnded() == false)
    }

    @Test func aConnectionEndingUnannouncedIsReportedOnce() {
        var open = WebSocketStateMachine()
        #expect(open.connectionEnded() == true)
        #expect(open.connectionEnded() == false)
        var closing = WebSocketStateMachine()
        _ = closing.closeRequested()
        #expect(closing.connectionEnded() == true)
    }

    @Test func anUnansweredPingClosesWith1001AndAPongResetsIt() {
        var machine = WebSocketStateMachine()
        #expect(machine.pingTimerFired() == .sendPing)
        machine.pongReceived()
        #expect(machine.pingTimerFired() == .sendPing)
        #expect(machine.pingTimerFired() == .close(.goingAway))
    }

    @Test func noPingsOnceClosingOrAnswering() {
        var closing = WebSocketStateMachine()
        _ = closing.closeRequested()
        #expect(closing.pingTimerFired() == .none)
        var answering = WebSocketStateMachine()
        _ = answering.peerClosed(.valid(code: 1000))
        #expect(answering.pingTimerFired() == .none)
        #expect(answering.closeRequested() == false)
    }
}
