import Foundation
import Glibc

/// A child process started with posix_spawn and reaped with waitpid: no
/// Foundation.Process, whose termination monitor runs on a Dispatch queue that a
/// busy test process can starve (a run hung on a zombie redis-cli).
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var waitStatus: Int32?

    /// Starts `argv`, stdin from /dev/null, stdout and stderr appended to `output`.
    public init(_ argv: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                output: String = "/dev/null") throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let arguments = argv.map { strdup($0) } + [nil]
        let env = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (arguments + env).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, arguments, env)
        guard rc == 0 else { throw SupportError("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    /// Reaps the child if it has ended; true while it runs.
    public var isRunning: Bool { exitCode(blocking: false) == nil }

    /// The exit code (128 + signal when killed), waiting for the end if `blocking`.
    @discardableResult
    public func exitCode(blocking: Bool) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if waitStatus == nil {
            var status: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &status, blocking ? 0 : WNOHANG) } while result < 0 && errno == EINTR
            if result == pid { waitStatus = status }
        }
        guard let status = waitStatus else { return nil }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    public func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            exitCode(blocking: true)
        }
    }
}

/// Runs a program to completion and returns its exit code and output.
public func runCapturing(_ argv: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (status: Int32, output: String) {
    let output = NSTemporaryDirectory() + "run-\(UUID().uuidString)"
    defer { unlink(output) }
    let child = try ChildProcess(argv, environment: environment, output: output)
    let status = child.exitCode(blocking: true) ?? -1
    return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
}
