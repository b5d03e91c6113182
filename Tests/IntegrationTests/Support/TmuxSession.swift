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

    /// The screen with its colours and attributes as escape sequences.
    func captureStyled() -> String {
        (try? Self.tmux(socketName, ["capture-pane", "-p", "-e", "-t", target]).output) ?? ""
    }

    /// A left click at a cell (0-based), as a terminal in SGR mouse mode (1006) reports it.
    func click(x: Int, y: Int) {
        for final in ["M", "m"] {   // press, release
            let bytes = Array("\u{1b}[<0;\(x + 1);\(y + 1)\(final)".utf8).map { String(format: "%02x", $0) }
            _ = try? Self.tmux(socketName, ["send-keys", "-t", target, "-H"] + bytes)
        }
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

    /// Runs tmux to completion (see `runToCompletion` for why not Process).
    static func tmux(_ socket: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let output = NSTemporaryDirectory() + "tmux-\(UUID().uuidString)"
        defer { unlink(output) }
        let status = try runToCompletion(["tmux", "-L", socket] + arguments, output: output)
        return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    static var available: Bool { (try? tmux("probe", ["-V"]).status) == 0 }
}
