import Arbiter
import PulseControl
import Testing

@Suite struct RestartPolicyTests {
    @Test func firstFailureRespawnsAtOnceThenBacksOffExponentiallyUpToTheCap() {
        var policy = RestartPolicy()
        policy.baseDelay = 0.5
        policy.maxDelay = 4
        #expect(policy.delay(afterFailures: 1) == 0)
        #expect(policy.delay(afterFailures: 2) == 0.5)
        #expect(policy.delay(afterFailures: 3) == 1)
        #expect(policy.delay(afterFailures: 4) == 2)
        #expect(policy.delay(afterFailures: 5) == 4)
        #expect(policy.delay(afterFailures: 50) == 4)
    }

    @Test func spawnWaitsForTheBackOff() {
        var policy = RestartPolicy()
        policy.recordFailure(boot: false, at: 100)
        #expect(policy.maySpawn(at: 100))
        policy.recordFailure(boot: false, at: 100)
        #expect(!policy.maySpawn(at: 100.1))
        #expect(policy.maySpawn(at: 100 + policy.baseDelay))
    }

    @Test func consecutiveBootFailuresMarkErrored() {
        var policy = RestartPolicy()
        policy.maxBootFailures = 3
        policy.recordFailure(boot: true, at: 1)
        policy.recordFailure(boot: true, at: 2)
        #expect(!policy.isErrored)
        policy.recordFailure(boot: true, at: 3)
        #expect(policy.isErrored)
        #expect(!policy.maySpawn(at: 1000))
    }

    @Test func aRuntimeCrashBreaksTheRunOfBootFailures() {
        var policy = RestartPolicy()
        policy.maxBootFailures = 2
        policy.recordFailure(boot: true, at: 1)
        policy.recordFailure(boot: false, at: 2)
        policy.recordFailure(boot: true, at: 3)
        #expect(!policy.isErrored)
        #expect(policy.consecutiveFailures == 3)
    }

    @Test func aStablePeriodForgives() {
        var policy = RestartPolicy()
        policy.stablePeriod = 10
        policy.recordFailure(boot: false, at: 0)
        policy.recordFailure(boot: false, at: 1)
        policy.noteHealthy(at: 5)
        #expect(policy.consecutiveFailures == 2)
        policy.noteHealthy(at: 11)
        #expect(policy.consecutiveFailures == 0)
        #expect(policy.delay(afterFailures: policy.consecutiveFailures + 1) == 0)
    }
}
