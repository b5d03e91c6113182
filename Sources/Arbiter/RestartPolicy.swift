/// When a service may spawn again after its workers died unasked, and when it
/// gives up. Pure state: times are monotonic seconds given by the caller.
///
/// The first failure respawns at once; each further one in a row doubles the wait
/// from `baseDelay` up to `maxDelay`. `maxBootFailures` boot failures in a row mark
/// the service errored. A quiet `stablePeriod` with a ready worker forgives all.
public struct RestartPolicy: Sendable, Equatable {
    public var baseDelay: Double = 0.25
    public var maxDelay: Double = 30
    public var maxBootFailures: Int = 5
    public var stablePeriod: Double = 10

    public private(set) var consecutiveFailures = 0
    public private(set) var consecutiveBootFailures = 0
    public private(set) var lastFailureAt: Double?
    public private(set) var nextSpawnAt: Double = 0
    public var isErrored: Bool { consecutiveBootFailures >= maxBootFailures }

    public init() {}

    /// The wait before the next spawn after `failures` failures in a row.
    public func delay(afterFailures failures: Int) -> Double {
        guard failures > 1 else { return 0 }
        let exponent = min(failures - 2, 30)
        return min(baseDelay * Double(1 << exponent), maxDelay)
    }

    public mutating func recordFailure(boot: Bool, at now: Double) {
        consecutiveFailures += 1
        consecutiveBootFailures = boot ? consecutiveBootFailures + 1 : 0
        lastFailureAt = now
        nextSpawnAt = now + delay(afterFailures: consecutiveFailures)
    }

    /// Forgives past failures once the service has run quietly long enough.
    public mutating func noteHealthy(at now: Double) {
        if let last = lastFailureAt, now - last >= stablePeriod { reset() }
    }

    public mutating func reset() {
        consecutiveFailures = 0
        consecutiveBootFailures = 0
        lastFailureAt = nil
        nextSpawnAt = 0
    }

    public func maySpawn(at now: Double) -> Bool { !isErrored && now >= nextSpawnAt }
}
