import Mailbox
import PulseControl

/// Decides, once a second, whether a service needs a worker more or one fewer,
/// from its ready workers' heartbeats.
///
/// Pure: the monitor feeds it, the arbiter carries its decisions out through the
/// ordinary scaling path (a worker removed is drained). Its guarantees:
/// - it never leaves its bounds, and moves the target by one at a time;
/// - it adds a worker only after the pool was high (occupancy at least
///   `highOccupancy`, or requests queued) for `highSeconds` in a row, and removes one
///   only after it was low (occupancy under `lowOccupancy`, nothing queued) for
///   `lowSeconds` in a row: a burst or a lull of a second changes nothing;
/// - after a decision it waits `cooldownSeconds`, and the streaks start again, so
///   the new worker's effect is measured before the next step;
/// - it measures only a settled pool: while a rolling replacement runs, or fewer
///   workers are ready than the target asks, the streaks restart; so they do
///   when someone else changes the target, or after a gap in the observations.
///
///     idle --high--> high(since) --held highSeconds--> decision: +1 --> cooling(until)
///       |   <-neither-                                                       |
///       +--low--> low(since) --held lowSeconds--> decision: -1 --> cooling --+--> idle
public struct Autoscaler: Sendable {
    /// When the pool counts as high or low, and for how long it must stay so.
    public struct Thresholds: Sendable, Equatable {
        /// Busy over size at or above which the pool is high.
        public var highOccupancy = 0.9
        /// Busy over size under which, with nothing queued, the pool is low.
        public var lowOccupancy = 0.3
        public var highSeconds: Double = 3
        public var lowSeconds: Double = 10
        public var cooldownSeconds: Double = 5
        public init() {}
    }

    /// The pool of a service's ready workers at one moment, added up.
    public struct Load: Sendable, Equatable, CustomStringConvertible {
        public var busy: Int
        public var size: Int
        public var queue: Int

        public init(busy: Int, size: Int, queue: Int) {
            self.busy = busy
            self.size = size
            self.queue = queue
        }

        /// From heartbeats: the pool of `mode` (threads, or green tasks when
        /// cooperative), and the requests waiting for it.
        public init(reports: [WorkerReport], mode: ExecutionMode) {
            // Bounded before adding: a heartbeat is JSON from another process, and an
            // overflow here would trap the arbiter.
            func bounded(_ value: Int) -> Int { min(max(0, value), 1 << 24) }
            let pools = reports.compactMap { mode == .thread ? $0.threads : $0.green }
            self.init(busy: pools.reduce(0) { $0 + bounded($1.busy) }, size: pools.reduce(0) { $0 + bounded($1.size) },
                      queue: reports.reduce(0) { $0 + bounded($1.queue ?? 0) })
        }

        public var occupancy: Double { size > 0 ? Double(busy) / Double(size) : 0 }
        public var description: String { "pool \(busy)/\(size) busy, queue \(queue)" }
    }

    /// A change of the worker target, and why.
    public struct Decision: Sendable, Equatable, CustomStringConvertible {
        public let from: Int
        public let to: Int
        public let reason: String
        public let at: Double
        public var description: String { "\(from) -> \(to) workers: \(reason)" }
    }

    private enum Phase: Sendable, Equatable {
        case idle
        /// High (or low) since then.
        case high(since: Double)
        case low(since: Double)
        /// After a decision: nothing counts until then.
        case cooling(until: Double)
    }

    /// New bounds start the streaks again.
    public var bounds: AutoscaleBounds { didSet { phase = .idle } }
    public var thresholds: Thresholds
    private var phase = Phase.idle
    /// The target last observed: one changed by someone else restarts the streaks.
    private var lastTarget: Int?
    /// When the last observation came: after a gap (the service was not running,
    /// the loop stalled) the load in between is unknown, and the streaks restart.
    private var lastObservedAt: Double?
    public private(set) var lastDecision: Decision?

    public init(bounds: AutoscaleBounds, thresholds: Thresholds = Thresholds()) {
        self.bounds = bounds
        self.thresholds = thresholds
    }

    /// One observation: the service's ready workers' last heartbeats, its mode and
    /// target, and whether a rolling replacement is under way. Returns the change
    /// to make, if one is due; the caller applies it.
    public mutating func observe(_ reports: [WorkerReport], mode: ExecutionMode, target: Int, replacing: Bool,
                                 now: Double) -> Decision? {
        let resized = lastTarget.map { $0 != target } ?? false
        let gap = lastObservedAt.map { now - $0 > 2.5 } ?? false
        defer {
            lastTarget = target
            lastObservedAt = now
        }
        if case .cooling(let until) = phase {
            guard now >= until else { return nil }
            phase = .idle
        }
        let load = Load(reports: reports, mode: mode)
        // Only a settled pool says anything about the load: not one being replaced,
        // resized by hand, or still booting a worker (or missing one).
        guard !replacing, !resized, !gap, reports.count >= target, load.size > 0 else {
            phase = .idle
            return nil
        }
        if load.occupancy >= thresholds.highOccupancy || load.queue > 0 {
            let since = if case .high(let since) = phase { since } else { now }
            phase = .high(since: since)
            guard now - since >= thresholds.highSeconds, target < bounds.max else { return nil }
            return decide(from: target, to: target + 1, load: load, held: now - since, now: now)
        }
        if load.occupancy < thresholds.lowOccupancy {
            let since = if case .low(let since) = phase { since } else { now }
            phase = .low(since: since)
            guard now - since >= thresholds.lowSeconds, target > bounds.min else { return nil }
            return decide(from: target, to: target - 1, load: load, held: now - since, now: now)
        }
        phase = .idle
        return nil
    }

    private mutating func decide(from: Int, to: Int, load: Load, held: Double, now: Double) -> Decision {
        let decision = Decision(from: from, to: to, reason: "\(load), for \(Int(held.rounded())) s", at: now)
        lastDecision = decision
        phase = .cooling(until: now + thresholds.cooldownSeconds)
        return decision
    }
}
