import PulseControl

/// What the dashboard remembers of the last ten minutes, one sample per status:
/// the status itself (so a cursor can show the workers as they were), each
/// worker's rps, p50 and p99 for its sparklines, and what changed (reloads,
/// scalings, mode switches, exits) for the time line.
public struct History: Sendable {
    public struct Event: Equatable, Sendable {
        /// One character on the time line: `R` reload, `+`/`-` scaling, `M` mode, `X` an exit.
        public var mark: Character
        public var text: String
    }

    public struct Sample: Sendable {
        public var time: Double
        /// Requests per second of the app's workers (not the data store's).
        public var rps: Double
        public var status: StatusSnapshot
        public var events: [Event]
    }

    /// Ten minutes at the dashboard's one status a second.
    public static let capacity = 600

    public private(set) var samples: [Sample] = []
    /// Each worker's rps and latency by name, oldest first, as long as it has been seen in a row.
    public private(set) var workerRPS: [String: [Double]] = [:]
    public private(set) var workerP50: [String: [Double]] = [:]
    public private(set) var workerP99: [String: [Double]] = [:]
    /// Samples dropped from the front since the start: keeps a cursor on its moment.
    public private(set) var dropped = 0

    public init() {}

    public var rps: [Double] { samples.map(\.rps) }

    /// Seconds from the oldest sample to the newest: what the time line shows.
    public var span: Double { (samples.last?.time ?? 0) - (samples.first?.time ?? 0) }

    public mutating func record(_ status: StatusSnapshot, at time: Double) {
        var stored = status
        // The buckets are for Prometheus; ten minutes of them would be most of the memory kept.
        for service in stored.services.indices {
            for worker in stored.services[service].workers.indices { stored.services[service].workers[worker].report.latencyBuckets = nil }
        }
        let appWorkers = status.services.filter { !$0.auxiliary }.flatMap(\.workers)
        let events = samples.last.map { Self.events(from: $0.status, to: status) } ?? []
        samples.append(Sample(time: time, rps: appWorkers.reduce(0) { $0 + $1.rps }, status: stored, events: events))
        if samples.count > Self.capacity {
            let excess = samples.count - Self.capacity
            samples.removeFirst(excess)
            dropped += excess
        }
        var seen: Set<String> = []
        for worker in status.services.flatMap(\.workers) {
            seen.insert(worker.name)
            Self.append(worker.rps, to: &workerRPS[worker.name, default: []])
            Self.append(worker.latencyMs?.p50 ?? 0, to: &workerP50[worker.name, default: []])
            Self.append(worker.latencyMs?.p99 ?? 0, to: &workerP99[worker.name, default: []])
        }
        for name in workerRPS.keys where !seen.contains(name) {
            workerRPS[name] = nil
            workerP50[name] = nil
            workerP99[name] = nil
        }
    }

    private static func append(_ value: Double, to ring: inout [Double]) {
        ring.append(value)
        if ring.count > capacity { ring.removeFirst(ring.count - capacity) }
    }

    /// What an operator would want marked between two statuses.
    static func events(from old: StatusSnapshot, to new: StatusSnapshot) -> [Event] {
        var events: [Event] = []
        for service in new.services {
            guard let before = old.services.first(where: { $0.name == service.name }) else { continue }
            if service.targetWorkers != before.targetWorkers {
                events.append(Event(mark: service.targetWorkers > before.targetWorkers ? "+" : "-",
                                    text: "\(service.name): \(before.targetWorkers) -> \(service.targetWorkers) workers"))
            }
            if service.mode != before.mode, !service.auxiliary {
                events.append(Event(mark: "M", text: "\(service.name): \(service.mode.rawValue) mode"))
            }
            if (service.reloads ?? 0) > (before.reloads ?? 0) {
                events.append(Event(mark: "R", text: "\(service.name): reload"))
            }
            let known = Set(before.recentExits.map { "\($0.worker) \($0.pid)" })
            for exit in service.recentExits where !known.contains("\(exit.worker) \(exit.pid)") {
                events.append(Event(mark: "X", text: "\(exit.worker) (pid \(exit.pid)): \(exit.reason)"))
            }
        }
        return events
    }
}
