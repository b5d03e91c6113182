import Arbiter
import PulseControl
import Glibc
import Testing

@Suite struct WorkerExitTests {
    @Test func decodesWaitStatuses() {
        #expect(Termination(waitStatus: 3 << 8) == .exited(code: 3))
        #expect(Termination(waitStatus: SIGKILL) == .signaled(signal: SIGKILL))
        #expect(Termination.signaled(signal: SIGSEGV).description == "killed by signal SIGSEGV (11)")
    }

    @Test func anExitBeforeReadyIsABootFailure() {
        let exit = WorkerExit.classify(.exited(code: 3), intent: nil, wasReady: false)
        #expect(exit.isBootFailure && exit.isFailure)
        #expect(exit.reason == "failed during boot: exited with code 3")
    }

    @Test func aCrashAfterReadyIsAFailureButNotABootFailure() {
        let exit = WorkerExit.classify(.signaled(signal: SIGSEGV), intent: nil, wasReady: true)
        #expect(exit.isFailure && !exit.isBootFailure)
        #expect(exit.reason.contains("SIGSEGV"))
    }

    @Test func requestedExitsAreNotFailures() {
        let recycled = WorkerExit.classify(.exited(code: 0), intent: .recycle, wasReady: true)
        #expect(!recycled.isFailure && recycled.reason == "recycled (max requests)")
        let drained = WorkerExit.classify(.exited(code: 0), intent: .scaleDown, wasReady: true)
        #expect(!drained.isFailure && drained.reason == "drained (scale-down)")
        let overran = WorkerExit.classify(.signaled(signal: SIGKILL), intent: .reload, wasReady: true)
        #expect(!overran.isFailure && overran.reason.contains("graceful timeout"))
        let killed = WorkerExit.classify(.signaled(signal: SIGKILL), intent: .operatorKill, wasReady: true)
        #expect(!killed.isFailure && killed.reason == "killed by signal SIGKILL (9), asked by the operator (kill)")
    }

    @Test func aTimeoutSaysSo() {
        let exit = WorkerExit.classify(.signaled(signal: SIGTERM), intent: .timeout, wasReady: true, timeoutSeconds: 30)
        #expect(exit.isFailure)
        #expect(exit.reason.hasPrefix("killed after 30s without a heartbeat (timeout)"))
    }
}
