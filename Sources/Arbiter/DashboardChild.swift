import Glibc
import Logging
import PulseControl

/// The dashboard, run as a child process on the arbiter's terminal: whatever
/// happens to it, the arbiter and its workers carry on. If it dies by a signal or
/// a failing exit, the terminal is put back as it was and the log goes to stderr
/// again. Confined to the arbiter's loop; it never waits: the arbiter's reaper
/// reports the exit (`reaped`), and `ArbiterLifecycle` decides when to kill.
final class DashboardChild {
    private let sink: LogSink
    private let logger: Logger
    private(set) var pid: Int32?
    private var savedTerminal: termios?
    /// The operator detached the dashboard with `d`: a hang-up of the terminal then
    /// leaves the server running.
    private(set) var detached = false

    init(sink: LogSink, logger: Logger) {
        self.sink = sink
        self.logger = logger
    }

    var isRunning: Bool { pid != nil }

    func start(_ arguments: [String], spawner: WorkerSpawner) {
        var saved = termios()
        if tcgetattr(0, &saved) == 0 { savedTerminal = saved }
        do {
            let pid = try spawner.spawnOnTerminal(arguments: arguments)
            self.pid = pid
            sink.setStderr(false)
            logger.info("dashboard running (pid \(pid))")
        } catch {
            logger.error("cannot start the dashboard: \(error); running headless")
        }
    }

    /// Asks it to leave: it restores the terminal itself.
    func stop() {
        if let pid { Glibc.kill(pid, SIGTERM) }
    }

    func kill() {
        if let pid {
            logger.warning("the dashboard (pid \(pid)) did not leave in time: SIGKILL")
            Glibc.kill(pid, SIGKILL)
        }
    }

    /// True when `pid` was the dashboard: it is gone, and the terminal is ours again.
    func reaped(pid: Int32, _ termination: Termination) -> Bool {
        guard pid == self.pid else { return false }
        self.pid = nil
        if termination == .exited(code: DashboardExit.detached) {
            detached = true
            sink.setStderr(true)
            logger.notice("dashboard detached: the server runs on headless, through a hang-up of this terminal too; `pulse top` attaches again")
        } else if termination != .exited(code: 0) {
            restoreTerminal()
            sink.setStderr(true)
            logger.error("the dashboard \(termination.description); the server carries on headless")
        } else {
            sink.setStderr(true)
            logger.info("dashboard closed")
        }
        return true
    }

    /// Puts the terminal back as it was before a crashed dashboard took it: modes,
    /// the main screen, the cursor.
    private func restoreTerminal() {
        if var saved = savedTerminal { tcsetattr(0, TCSANOW, &saved) }
        let reset = Array("\u{1b}[0m\u{1b}[?1049l\u{1b}[?25h\r\n".utf8)
        reset.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) }
    }
}
