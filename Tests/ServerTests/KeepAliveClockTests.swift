@testable import Server
import Testing

/// The two deadlines of a connection between requests, without timers.
/// (`== true` and `== false` because `#expect` cannot decompose a bare mutating call.)
@Suite struct KeepAliveClockTests {
    @Test func aNewConnectionWaitsWithNoBytes() {
        #expect(KeepAliveClock().state == .waiting(bytes: 0))
    }

    @Test func bytesAddUpWhileWaiting() {
        var clock = KeepAliveClock()
        clock.bytesRead(2)
        clock.bytesRead(0)
        clock.bytesRead(3)
        #expect(clock.state == .waiting(bytes: 5))
    }

    @Test func anIdleConnectionClosesAtTheIdleDeadlineOnce() {
        var clock = KeepAliveClock()
        #expect(clock.idleDeadlinePassed() == true)
        #expect(clock.state == .timedOut)
        #expect(clock.idleDeadlinePassed() == false)
        #expect(clock.headerDeadlinePassed() == false)
        #expect(clock.state == .timedOut)
    }

    @Test func anEmptyReadLeavesTheConnectionIdle() {
        var clock = KeepAliveClock()
        clock.bytesRead(0)
        #expect(clock.idleDeadlinePassed() == true)
    }

    @Test func theIdleDeadlineSparesAConnectionThatSentPartOfAHead() {
        var clock = KeepAliveClock()
        clock.bytesRead(3)
        #expect(clock.idleDeadlinePassed() == false)
        #expect(clock.state == .waiting(bytes: 3))
    }

    @Test func theHeaderDeadlineSparesAConnectionThatSentNothing() {
        var clock = KeepAliveClock()
        #expect(clock.headerDeadlinePassed() == false)
        #expect(clock.state == .waiting(bytes: 0))
        // The idle deadline is still there for it.
        #expect(clock.idleDeadlinePassed() == true)
    }

    @Test func theHeaderDeadlineAnswersAPartialHeadOnce() {
        var clock = KeepAliveClock()
        clock.bytesRead(5)
        #expect(clock.headerDeadlinePassed() == true)
        #expect(clock.state == .timedOut)
        #expect(clock.headerDeadlinePassed() == false)
        #expect(clock.idleDeadlinePassed() == false)
        #expect(clock.state == .timedOut)
    }

    @Test func neitherDeadlineFiresDuringARequest() {
        var clock = KeepAliveClock()
        clock.bytesRead(2)
        clock.requestStarted()
        #expect(clock.state == .inRequest)
        clock.bytesRead(10)   // its body, or a pipelined request
        #expect(clock.state == .inRequest)
        #expect(clock.idleDeadlinePassed() == false)
        #expect(clock.headerDeadlinePassed() == false)
        #expect(clock.state == .inRequest)
    }

    @Test func aRequestStartedWithNoBytesCountedIsStillInRequest() {
        var clock = KeepAliveClock()
        clock.requestStarted()
        clock.requestStarted()
        #expect(clock.state == .inRequest)
        #expect(clock.idleDeadlinePassed() == false)
    }

    @Test func theEndOfAResponseForgetsTheBytesOfTheRequest() {
        var clock = KeepAliveClock()
        clock.bytesRead(7)
        clock.requestStarted()
        clock.bytesRead(4)
        clock.responseEnded()
        #expect(clock.state == .waiting(bytes: 0))
        #expect(clock.headerDeadlinePassed() == false)
        #expect(clock.idleDeadlinePassed() == true)
    }

    @Test func aHeadBegunDuringTheResponseIsTimedAsAHeadFromItsEnd() {
        var clock = KeepAliveClock()
        clock.bytesRead(7)
        clock.requestStarted()
        clock.responseEnded(headBegun: true)
        #expect(clock.state == .waiting(bytes: 1))
        #expect(clock.idleDeadlinePassed() == false)
        #expect(clock.headerDeadlinePassed() == true)
    }

    @Test func theNextRequestsBytesArmTheHeaderDeadlineAgain() {
        var clock = KeepAliveClock()
        clock.bytesRead(7)
        clock.requestStarted()
        clock.responseEnded()
        clock.bytesRead(1)
        #expect(clock.state == .waiting(bytes: 1))
        #expect(clock.idleDeadlinePassed() == false)
        #expect(clock.headerDeadlinePassed() == true)
        #expect(clock.state == .timedOut)
    }

    @Test func aResponseEndWithNoRequestIsIgnored() {
        var clock = KeepAliveClock()
        clock.bytesRead(4)
        clock.responseEnded()
        #expect(clock.state == .waiting(bytes: 4))
        #expect(clock.headerDeadlinePassed() == true)
    }

    @Test func aTimedOutConnectionStaysTimedOut() {
        var clock = KeepAliveClock()
        #expect(clock.idleDeadlinePassed() == true)
        clock.bytesRead(9)
        clock.requestStarted()
        clock.responseEnded()
        #expect(clock.state == .timedOut)
        #expect(clock.idleDeadlinePassed() == false)
        #expect(clock.headerDeadlinePassed() == false)
    }

    @Test func clocksCompareByState() {
        var a = KeepAliveClock()
        var b = KeepAliveClock()
        #expect(a == b)
        a.bytesRead(1)
        #expect(a != b)
        b.bytesRead(1)
        #expect(a == b)
    }
}

/// The clock's two later additions: the header deadline starts at a head's first
/// byte, and a connection closing after its response is closed when idle.
@Suite struct KeepAliveClockStartAndCloseTests {
    @Test func onlyTheFirstBytesSinceAResponseStartTheHeaderDeadline() {
        var clock = KeepAliveClock()
        #expect(clock.bytesRead(0) == .none)
        #expect(clock.bytesRead(3) == .headStarted)
        #expect(clock.bytesRead(4) == .none)
        clock.requestStarted()
        #expect(clock.bytesRead(5) == .none)               // a body, not a head
        clock.responseEnded()
        #expect(clock.bytesRead(1) == .headStarted)
    }

    @Test func aClosingConnectionClosesWhenIdleButNeverGets408() {
        var clock = KeepAliveClock()
        clock.requestStarted()
        clock.closing()
        clock.bytesRead(10)
        #expect(clock.headerDeadlinePassed() == false)
        #expect(clock.idleDeadlinePassed() == true)
        #expect(clock.state == .timedOut)
        clock.closing()
        #expect(clock.state == .timedOut)                   // timed out stays timed out
    }
}
