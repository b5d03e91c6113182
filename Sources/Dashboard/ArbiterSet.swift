import PulseControl

/// Several arbiters in one dashboard (`pulse top --control A --control B`): their
/// statuses merged into one, each service and worker named with its arbiter's
/// number (`2/web`, `2/web.1`), and the commands the keys make sent back to the
/// arbiter a name belongs to, without the number. With one arbiter nothing is renamed.
public enum ArbiterSet {
    /// The arbiter a name belongs to (0-based) and the name as that arbiter knows it.
    public static func split(_ name: String) -> (index: Int, name: String)? {
        guard let slash = name.firstIndex(of: "/"), let number = Int(name[..<slash]), number >= 1 else { return nil }
        return (number - 1, String(name[name.index(after: slash)...]))
    }

    static func prefixed(_ name: String, _ index: Int) -> String { "\(index + 1)/\(name)" }

    /// One status for all: the first arbiter's figures on top, every service renamed.
    /// An arbiter that does not answer (nil) contributes nothing.
    public static func merge(_ statuses: [StatusSnapshot?]) -> StatusSnapshot? {
        guard statuses.count > 1 else { return statuses.first ?? nil }
        guard var merged = statuses.compactMap({ $0 }).first else { return nil }
        merged.services = statuses.enumerated().flatMap { index, status in
            (status?.services ?? []).map { service in
                var service = service
                service.name = prefixed(service.name, index)
                for worker in service.workers.indices {
                    service.workers[worker].name = prefixed(service.workers[worker].name, index)
                }
                for exit in service.recentExits.indices {
                    service.recentExits[exit].worker = prefixed(service.recentExits[exit].worker, index)
                }
                return service
            }
        }
        return merged
    }

    /// A log line of arbiter `index`, its source named as the workers are.
    public static func entry(_ entry: LogEntry, of index: Int, count: Int, seq: Int) -> LogEntry {
        var entry = entry
        entry.seq = seq
        if count > 1 { entry.source = prefixed(entry.source, index) }
        return entry
    }

    /// Which arbiter a command is for, and the command as it knows it. Commands
    /// that name nothing go to the first; a name with no arbiter number is
    /// refused (nil) when there are several.
    public static func route(_ command: ControlCommand, count: Int) -> (index: Int, command: ControlCommand)? {
        guard count > 1 else { return (0, command) }
        func target(_ name: String?) -> (Int, String?)? {
            guard let name else { return (0, nil) }
            guard let (index, local) = split(name), index < count else { return nil }
            return (index, local)
        }
        switch command {
        case .status, .logs, .stop:
            return (0, command)
        case .scale(let change, let service):
            return target(service).map { ($0.0, .scale(change, service: $0.1)) }
        case .mode(let mode, let service):
            return target(service).map { ($0.0, .mode(mode, service: $0.1)) }
        case .reload(let service):
            return target(service).map { ($0.0, .reload(service: $0.1)) }
        case .restart(let service):
            return target(service).map { ($0.0, .restart(service: $0.1)) }
        case .autoscale(let bounds, let service):
            return target(service).map { ($0.0, .autoscale(bounds, service: $0.1)) }
        case .kill(let worker, let signal):
            return target(worker).flatMap { index, local in local.map { (index, .kill(worker: $0, signal: signal)) } }
        case .inspect(let worker):
            return target(worker).flatMap { index, local in local.map { (index, .inspect(worker: $0)) } }
        }
    }
}

/// One arbiter of the dashboard, as the header shows it.
public struct ArbiterSection: Sendable {
    public var control: String
    /// Nil while it does not answer.
    public var arbiter: ArbiterStatus?

    public init(control: String, arbiter: ArbiterStatus?) {
        self.control = control
        self.arbiter = arbiter
    }
}
