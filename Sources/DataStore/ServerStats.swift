import CPulseSystem
import Foundation

/// What INFO's Stats, Commandstats and Errorstats sections count, as Redis counts it.
struct ServerStats {
    struct Command {
        var calls = 0
        var microseconds = 0
        /// Refused before running: wrong arity, NOAUTH, not allowed in this context.
        var rejected = 0
        /// Ran and answered an error.
        var failed = 0

        mutating func record(microseconds: Int, failed: Bool) {
            calls += 1
            self.microseconds += microseconds
            if failed { self.failed += 1 }
        }
    }

    /// Per command by `Commands.Resolved.slot`: an array, so a call costs no hashing
    /// of its name.
    var byCommand = [Command](repeating: Command(), count: Commands.names.count)
    /// The commands Redis counts per subcommand (`config|get`), by that name.
    var bySubcommand: [String: Command] = [:]

    /// Every command counted, by the name INFO shows.
    var commands: [String: Command] {
        var all = bySubcommand
        for (slot, command) in byCommand.enumerated() where command.calls + command.rejected > 0 {
            all[Commands.names[slot]] = command
        }
        return all
    }

    /// The counters of a command as the dispatcher names it (`fullName` differs from
    /// the resolved name for a container's subcommand).
    mutating func update(_ resolved: Commands.Resolved, fullName: String, _ change: (inout Command) -> Void) {
        if resolved.isContainer, fullName != resolved.name {
            change(&bySubcommand[fullName, default: Command()])
        } else {
            change(&byCommand[resolved.slot])
        }
    }
    /// The store's command count when the counters were last reset.
    var commandsAtReset = 0
    /// Error replies by their first word (ERR, WRONGTYPE, NOAUTH...).
    var errors: [String: Int] = [:]
    var errorReplies = 0
    var connectionsReceived = 0
    var rejectedConnections = 0
    var inputBytes = 0
    var outputBytes = 0
    var expiredKeys = 0
    var keyspaceHits = 0
    var keyspaceMisses = 0
    var peakMemory = 0
    var saves = 0

    /// Commands processed, sampled every 100 ms: the last 16 samples, for
    /// instantaneous_ops_per_sec (Redis's STATS_METRIC_SAMPLES).
    private var samples: [Int] = []
    private var lastSample: (time: UInt64, commands: Int)?
    private var ticks = 0

    mutating func noteError(_ message: String) {
        errorReplies += 1
        errors[String(message.prefix { $0 != " " }), default: 0] += 1
    }

    mutating func sample(commandsProcessed: Int) {
        let now = pulse_monotonic_ns()
        if let last = lastSample, now > last.time {
            let perSecond = Double(commandsProcessed - last.commands) * 1e9 / Double(now - last.time)
            samples.append(Int(perSecond.rounded()))
            if samples.count > 16 { samples.removeFirst() }
        }
        lastSample = (now, commandsProcessed)
        // malloc_info walks every arena's free lists under their locks: once a second
        // (and at each INFO) is enough for the peak, not every 100 ms.
        ticks &+= 1
        if ticks % 10 == 1 { peakMemory = max(peakMemory, Int(pulse_heap_in_use())) }
    }

    var operationsPerSecond: Int { samples.isEmpty ? 0 : samples.reduce(0, +) / samples.count }

    /// CONFIG RESETSTAT: the counters start again.
    mutating func reset() { self = ServerStats() }
}
