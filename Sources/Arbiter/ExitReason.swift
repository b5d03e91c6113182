import CPulseSystem
import Glibc
import PulseControl

/// How a worker process ended, as `waitpid` reported it.
public enum Termination: Equatable, Sendable {
    case exited(code: Int32)
    case signaled(signal: Int32)

    /// Decodes a `waitpid` status word.
    public init(waitStatus status: Int32) {
        if pulse_wifsignaled(status) != 0 {
            self = .signaled(signal: pulse_wtermsig(status))
        } else {
            self = .exited(code: pulse_wexitstatus(status))
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): "exited with code \(code)"
        case .signaled(let signal): "killed by signal \(signalName(signal)) (\(signal))"
        }
    }
}

/// The classified end of a worker: what the log says, and what it means for the
/// restart policy.
public struct WorkerExit: Equatable, Sendable {
    public let reason: String
    /// An exit nobody asked for: it advances the restart back-off.
    public let isFailure: Bool
    /// The worker never reported `ready`.
    public let isBootFailure: Bool

    /// Classifies an exit from how the process ended, what the arbiter had asked of
    /// it, and whether it had reported ready.
    public static func classify(_ termination: Termination, intent: ExitIntent?, wasReady: Bool,
                                timeoutSeconds: Double = 0) -> WorkerExit {
        switch intent {
        case .timeout?:
            return WorkerExit(reason: "killed after \(formatSeconds(timeoutSeconds)) without a heartbeat (timeout), \(termination.description)",
                              isFailure: true, isBootFailure: false)
        case .operatorKill?:
            return WorkerExit(reason: "\(termination.description), asked by the operator (kill)", isFailure: false, isBootFailure: false)
        case let intent? where intent.drains:
            let what = intent == .recycle ? "recycled (max requests)"
                : intent == .memory ? "recycled (over --max-worker-memory)" : "drained (\(intent.rawValue))"
            switch termination {
            case .exited(code: 0):
                return WorkerExit(reason: what, isFailure: false, isBootFailure: false)
            case .signaled(signal: SIGKILL):
                return WorkerExit(reason: "\(what): killed after the graceful timeout", isFailure: false, isBootFailure: false)
            default:
                return WorkerExit(reason: "\(what): \(termination.description)", isFailure: false, isBootFailure: false)
            }
        default:
            if !wasReady {
                return WorkerExit(reason: "failed during boot: \(termination.description)", isFailure: true, isBootFailure: true)
            }
            return WorkerExit(reason: termination.description, isFailure: true, isBootFailure: false)
        }
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
}

/// `SIGKILL`, `SIGSEGV`...: the names people search for.
public func signalName(_ signal: Int32) -> String {
    let names: [Int32: String] = [
        SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
        SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
        SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGCHLD: "SIGCHLD", SIGTTIN: "SIGTTIN", SIGTTOU: "SIGTTOU",
        SIGWINCH: "SIGWINCH",
    ]
    return names[signal] ?? "signal \(signal)"
}
