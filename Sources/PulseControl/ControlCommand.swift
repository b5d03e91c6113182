import Mailbox

/// A command for the arbiter: what `pulse ctl`, `pulse top` and the dashboard's
/// keys send over the control socket, and what the control server acts on.
///
/// On the wire it is `{"command": "scale", "argument": "+1", "service": "web"}`, one
/// object per line (see the README); `init(command:argument:service:)` is the one
/// parser of that form, used by the server and by `pulse ctl` alike, so both refuse
/// a bad argument with the same words.
public enum ControlCommand: Sendable, Equatable {
    case status
    /// The merged log lines after this sequence number.
    case logs(after: Int)
    /// Relative (`+2`, `-1`) or absolute (`3`) change of a service's worker count.
    case scale(ScaleChange, service: String?)
    case mode(ExecutionMode, service: String?)
    case reload(service: String?)
    case restart(service: String?)
    /// Lets the arbiter add and remove a service's workers within bounds as its
    /// load goes; nil turns that off (the count stays where it is).
    case autoscale(AutoscaleBounds?, service: String?)
    /// Signals one worker, named as in the status (`web.2`) or by its pid.
    case kill(worker: String, signal: WorkerSignal = .kill)
    /// What one worker is serving now, read from its scoreboard.
    case inspect(worker: String)
    case stop(now: Bool)

    public enum ScaleChange: Sendable, Equatable {
        case by(Int)
        case to(Int)
    }
}

/// The signals an operator may send one worker, as htop's kill menu offers them.
public enum WorkerSignal: String, Sendable, Equatable, CaseIterable {
    /// Graceful: the worker stops accepting, finishes what it serves, and exits.
    case term = "TERM"
    /// At once, with no drain; the process still exits by itself.
    case quit = "QUIT"
    /// The kernel ends it: nothing it was serving is answered.
    case kill = "KILL"

    public var number: Int32 {
        switch self {
        case .term: 15
        case .quit: 3
        case .kill: 9
        }
    }

    /// `TERM`, `term`, `SIGTERM` or `15`.
    public init?(parsing text: String) {
        let upper = text.uppercased()
        let name = upper.hasPrefix("SIG") ? String(upper.dropFirst(3)) : upper
        guard let signal = Self(rawValue: name) ?? Self.allCases.first(where: { String($0.number) == text }) else { return nil }
        self = signal
    }
}

extension ControlCommand {
    /// Parses the wire form. The error's text is what the operator reads.
    public init(command: String, argument: String? = nil, service: String? = nil, signal: String? = nil) throws(ControlCommandError) {
        switch command {
        case "status":
            self = .status
        case "logs":
            self = .logs(after: argument.flatMap { Int($0) } ?? 0)
        case "scale", "workers":
            self = .scale(try Self.scaleChange(command, argument), service: service)
        case "mode":
            guard let mode = argument.flatMap(ExecutionMode.init(rawValue:)) else {
                throw ControlCommandError("mode needs thread or cooperative")
            }
            self = .mode(mode, service: service)
        case "reload":
            self = .reload(service: service)
        case "restart":
            self = .restart(service: service)
        case "autoscale":
            self = .autoscale(try Self.autoscaleBounds(argument), service: service)
        case "kill":
            guard let argument, !argument.isEmpty else {
                throw ControlCommandError("kill needs a worker, as in `kill web.1`")
            }
            var chosen = WorkerSignal.kill
            if let signal {
                guard let parsed = WorkerSignal(parsing: signal) else {
                    throw ControlCommandError("kill sends TERM, QUIT or KILL, not '\(signal)'")
                }
                chosen = parsed
            }
            self = .kill(worker: argument, signal: chosen)
        case "inspect":
            guard let argument, !argument.isEmpty else {
                throw ControlCommandError("inspect needs a worker, as in `inspect web.1`")
            }
            self = .inspect(worker: argument)
        case "stop":
            self = .stop(now: argument == "now")
        default:
            throw ControlCommandError("unknown command '\(command)': use status, scale, workers, mode, reload, restart, autoscale, kill, inspect or stop")
        }
    }

    private static func scaleChange(_ command: String, _ argument: String?) throws(ControlCommandError) -> ScaleChange {
        let usage = "\(command) needs a number, as in `scale +1`, `scale -1` or `workers 4`"
        guard let argument else { throw ControlCommandError(usage) }
        let relative = command == "scale" && (argument.hasPrefix("+") || argument.hasPrefix("-"))
        guard let number = Int(argument.hasPrefix("+") ? String(argument.dropFirst()) : argument) else {
            throw ControlCommandError(usage)
        }
        if relative { return .by(number) }
        guard command == "scale" || number >= 1 else { throw ControlCommandError("workers must be at least 1") }
        return .to(number)
    }

    private static func autoscaleBounds(_ argument: String?) throws(ControlCommandError) -> AutoscaleBounds? {
        if argument == "off" { return nil }
        guard let bounds = argument.flatMap(AutoscaleBounds.init(parsing:)) else {
            throw ControlCommandError("autoscale needs MIN:MAX with 1 <= MIN <= MAX, as in `autoscale 1:4`, or off (got '\(argument ?? "")')")
        }
        return bounds
    }

    /// The wire form's fields; `signal` only for `kill`.
    public var wireFields: (command: String, argument: String?, service: String?) {
        switch self {
        case .status: ("status", nil, nil)
        case .logs(let after): ("logs", String(after), nil)
        case .scale(.by(let delta), let service): ("scale", delta >= 0 ? "+\(delta)" : String(delta), service)
        case .scale(.to(let count), let service): ("scale", String(count), service)
        case .mode(let mode, let service): ("mode", mode.rawValue, service)
        case .reload(let service): ("reload", nil, service)
        case .restart(let service): ("restart", nil, service)
        case .autoscale(let bounds, let service): ("autoscale", bounds?.description ?? "off", service)
        case .kill(let worker, _): ("kill", worker, nil)
        case .inspect(let worker): ("inspect", worker, nil)
        case .stop(let now): ("stop", now ? "now" : nil, nil)
        }
    }
}

extension ControlCommand: Codable {
    private enum CodingKeys: String, CodingKey { case command, argument, service, signal }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(command: try container.decode(String.self, forKey: .command),
                      argument: try container.decodeIfPresent(String.self, forKey: .argument),
                      service: try container.decodeIfPresent(String.self, forKey: .service),
                      signal: try container.decodeIfPresent(String.self, forKey: .signal))
    }

    public func encode(to encoder: any Encoder) throws {
        let fields = wireFields
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(fields.command, forKey: .command)
        try container.encodeIfPresent(fields.argument, forKey: .argument)
        try container.encodeIfPresent(fields.service, forKey: .service)
        // KILL is what a `kill` without a signal meant before the menu: older arbiters understand it.
        if case .kill(_, let signal) = self, signal != .kill { try container.encode(signal.rawValue, forKey: .signal) }
    }
}

/// Who sent a command: `{"command": "scale", "argument": "+1", "origin": "dashboard"}`.
/// The origin only goes into the arbiter's log, so the operator reads who did what.
public struct ControlOrigin: Codable, Sendable {
    public var origin: String?

    /// The words the log uses for a command with no origin: an old client or a script.
    public static let unnamed = "control socket"
}

/// A control command the arbiter cannot take as written; `description` says why.
public struct ControlCommandError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
