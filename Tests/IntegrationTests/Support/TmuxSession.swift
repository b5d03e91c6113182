import Foundation
import Glibc

/// A real terminal for the dashboard: a tmux server of its own (`-L`), one
/// window of a given size running one command. Killed, with what it ran, on shutdown.
final class TmuxSession: @unchecked Sendable {
    let socketName = "pulse-test-" + UUID().uuidString.prefix(8)
    let target = "main"

    init(width: Int, height: Int, command: String, environment: [String: String] = [:]) throws {
        var exports = environment.map { "\($0.key)=\($0.value)" }.sorted()
        exports.append("TERM=\(environment["TERM"] ?? "xterm-256color")")
        let shell = "env \(exports.joined(separator: " ")) \(command)"
        let result = try Self.tmux(socketName, ["new-session", "-d", "-s", target, "-x", "\(width)", "-y", "\(height)", shell,
                                                ";", "set-option", "-t", target, "remain-on-exit", "on"])
        guard result.status == 0 else { throw HTTPProbe.Failure(description: "tmux failed: \(result.output)") }
        let pid = try Self.tmux(socketName, ["display-message", "-p", "-t", target, "#{pid}"]).output
        serverPID = Int32(pid.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The tmux server's pid: killed outright on shutdown, as it does not always
    /// leave when asked once its command has died.
    private var serverPID: Int32?

    deinit { shutdown() }

    /// The screen as text.
    func capture() -> String {
        (try? Self.tmux(socketName, ["capture-pane", "-p", "-t", target]).output) ?? ""
    }

    func send(_ keys: String...) {
        _ = try? Self.tmux(socketName, ["send-keys", "-t", target] + keys)
    }

    func resize(width: Int, height: Int) {
        _ = try? Self.tmux(socketName, ["resize-window", "-t", target, "-x", "\(width)", "-y", "\(height)"])
    }

    /// True once the command in the window has exited.
    var commandExited: Bool {
        let output = (try? Self.tmux(socketName, ["display-message", "-p", "-t", target, "#{pane_dead}"]).output) ?? "1"
        return output.trimmingCharacters(in: .whitespacesAndNewlines) != "0"
    }

    /// Waits until the screen satisfies `condition`; the error shows the last screen.
    @discardableResult
    func waitFor(_ what: String, timeout: Double = 15, _ condition: @escaping (String) -> Bool) async throws -> String {
        var screen = ""
        do {
            try await eventually(timeout: timeout, what) {
                screen = self.capture()
                return condition(screen)
            }
        } catch {
            throw HTTPProbe.Failure(description: "\(error)\n--- screen ---\n\(screen)")
        }
        return screen
    }

    func shutdown() {
        _ = try? Self.tmux(socketName, ["kill-server"])
        if let serverPID, isRunning(serverPID) { kill(serverPID, SIGKILL) }
    }

    /// Runs tmux to completion with posix_spawn and waitpid: Foundation's Process
    /// waits through a Dispatch source that a blocked cooperative pool can starve.
    static func tmux(_ socket: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let output = NSTemporaryDirectory() + "tmux-\(UUID().uuidString)"
        defer { unlink(output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = (["tmux", "-L", socket] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, "tmux", &actions, nil, argv, envp)
        guard rc == 0 else { throw HTTPProbe.Failure(description: "cannot run tmux: \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return ((status >> 8) & 0xFF, text)
    }

    static var available: Bool { (try? tmux("probe", ["-V"]).status) == 0 }
}
