import Mailbox
import PulseControl

/// One row of a monitor's worker table: what the arbiter knows of one worker process.
///
/// Its life is `phase`, which moves only forward:
///
///     spawning --spawned--> booting --ready--> ready
///        |                     |                 |
///        +---------------------+-----------------+--leave--> leaving --(reaped)--> gone
///
/// A worker that is leaving was asked to go (drain) or was killed; it no longer
/// counts toward the target, and keeps the pid it has (a spawn may fail, leaving
/// none). Each transition returns false when the move is impossible from where the
/// worker is, and changes nothing then.
public struct WorkerRecord: Sendable {
    public enum Phase: Sendable, Equatable {
        /// The slot is taken; the process is being spawned.
        case spawning
        case booting(pid: Int32)
        case ready(pid: Int32)
        /// Asked to go or killed, for `intent`. `killAt`: when SIGKILL follows if it is still there.
        case leaving(pid: Int32?, intent: ExitIntent, wasReady: Bool, killAt: Double?)
    }

    public let id: Int
    public let spawnedAt: Double
    public private(set) var phase = Phase.spawning
    public private(set) var readyAt: Double?
    public internal(set) var lastHeartbeatAt: Double
    public internal(set) var report = WorkerReport()
    public internal(set) var rps: Double = 0
    public internal(set) var rssBytes: Int = 0
    public internal(set) var cpuPercent: Double = 0
    /// Resource samples in a row above `--max-worker-memory`.
    public internal(set) var samplesOverMemory = 0
    /// How many such samples replace it: a few, plus a jitter of its own, so that
    /// workers that grow alike are not all recycled at once.
    public let memorySamplesAllowed = 3 + Int.random(in: 0...3)
    var lastRequestSample: (requests: Int, at: Double)?

    init(id: Int, spawnedAt: Double) {
        self.id = id
        self.spawnedAt = spawnedAt
        self.lastHeartbeatAt = spawnedAt
    }

    // MARK: - Reading the phase

    public var pid: Int32? {
        switch phase {
        case .spawning: nil
        case .booting(let pid), .ready(let pid): pid
        case .leaving(let pid, _, _, _): pid
        }
    }

    public var state: WorkerState {
        switch phase {
        case .spawning, .booting: .booting
        case .ready: .ready
        case .leaving: .draining
        }
    }

    /// Set once the arbiter has asked the worker to go.
    public var intent: ExitIntent? {
        if case .leaving(_, let intent, _, _) = phase { return intent }
        return nil
    }

    /// Counts toward the service's worker target.
    var isLive: Bool { intent == nil }

    /// Reported ready at some point, whether or not it is leaving now.
    var wasReady: Bool {
        switch phase {
        case .ready: true
        case .leaving(_, _, let wasReady, _): wasReady
        case .spawning, .booting: false
        }
    }

    var killAt: Double? {
        if case .leaving(_, _, _, let killAt) = phase { return killAt }
        return nil
    }

    // MARK: - Transitions

    /// The process exists now.
    mutating func spawned(pid: Int32) -> Bool {
        switch phase {
        case .spawning:
            phase = .booting(pid: pid)
        case .leaving(nil, let intent, let wasReady, let killAt):
            phase = .leaving(pid: pid, intent: intent, wasReady: wasReady, killAt: killAt)
        default:
            return false
        }
        return true
    }

    /// The worker said `ready`. One asked to go meanwhile stays leaving, but is
    /// known to have booted (its exit is then no boot failure).
    mutating func becameReady(at now: Double) -> Bool {
        switch phase {
        case .booting(let pid):
            phase = .ready(pid: pid)
        case .leaving(let pid?, let intent, false, let killAt):
            phase = .leaving(pid: pid, intent: intent, wasReady: true, killAt: killAt)
        default:
            return false
        }
        readyAt = now
        lastHeartbeatAt = now
        return true
    }

    /// The arbiter asks the worker to go (or kills it). A worker already leaving
    /// may be given a harder reason (a kill while it drains), never a softer one.
    mutating func leave(intent: ExitIntent, killAt: Double?) -> Bool {
        if case .leaving(_, let current, _, _) = phase, current.drains == false, intent.drains { return false }
        phase = .leaving(pid: pid, intent: intent, wasReady: wasReady, killAt: killAt)
        return true
    }

    /// When SIGKILL follows; only for a worker that is leaving.
    mutating func setKillDeadline(_ deadline: Double?) -> Bool {
        guard case .leaving(let pid, let intent, let wasReady, _) = phase else { return false }
        phase = .leaving(pid: pid, intent: intent, wasReady: wasReady, killAt: deadline)
        return true
    }

    /// The arbiter itself was not scheduled for `gap` seconds (the machine
    /// suspended, or stalled): its clocks for this worker move on by as much.
    mutating func arbiterStalled(for gap: Double) {
        lastHeartbeatAt += gap
        if case .leaving(let pid, let intent, let wasReady, let killAt?) = phase {
            phase = .leaving(pid: pid, intent: intent, wasReady: wasReady, killAt: killAt + gap)
        }
    }

    mutating func heartbeat(_ report: WorkerReport, at now: Double) {
        lastHeartbeatAt = now
        if let sample = lastRequestSample, now > sample.at {
            rps = Double(max(0, report.requests &- sample.requests)) / (now - sample.at)
        }
        lastRequestSample = (report.requests, now)
        self.report = report
    }
}
