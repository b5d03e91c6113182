import NIOCore

/// Every worker process the arbiter runs, indexed by pid: which service and slot it
/// fills, its mailbox, and its last CPU sample. Confined to the arbiter's loop.
struct WorkerTable {
    struct Entry {
        let service: Int
        let id: Int
        var mailbox: Channel?
        var cpuSample: (seconds: Double, at: Double)?
        var scoreboard: ScoreboardMapping?
    }

    private var entries: [Int32: Entry] = [:]

    mutating func add(pid: Int32, service: Int, id: Int, scoreboard: ScoreboardMapping?) {
        entries[pid] = Entry(service: service, id: id, scoreboard: scoreboard)
    }

    /// Forgets a reaped worker; closes its mailbox if it is still open.
    @discardableResult
    mutating func remove(pid: Int32) -> Entry? {
        let entry = entries.removeValue(forKey: pid)
        entry?.mailbox?.close(promise: nil)
        return entry
    }

    subscript(pid: Int32) -> Entry? { entries[pid] }

    mutating func setMailbox(_ channel: Channel, pid: Int32) {
        guard entries[pid] != nil else {
            channel.close(promise: nil)   // reaped before its mailbox was ready
            return
        }
        entries[pid]?.mailbox = channel
    }

    /// CPU use since the last sample, in percent of one core.
    mutating func cpuPercent(pid: Int32, cpuSeconds: Double, now: Double) -> Double {
        var percent = 0.0
        if let previous = entries[pid]?.cpuSample, now > previous.at {
            percent = max(0, (cpuSeconds - previous.seconds) / (now - previous.at) * 100)
        }
        entries[pid]?.cpuSample = (cpuSeconds, now)
        return percent
    }

    mutating func closeAll() {
        for entry in entries.values { entry.mailbox?.close(promise: nil) }
        entries.removeAll()
    }
}
