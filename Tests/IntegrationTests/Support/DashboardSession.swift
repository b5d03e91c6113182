import PulseControl
import Foundation
import Glibc
import Testing

/// The status of the arbiter behind a control socket.
func controlStatus(_ control: String) throws -> StatusSnapshot {
    try #require(try ControlClient(path: control).send(.status).status)
}

/// Ends a dashboard test: the tmux server, then whatever of the arbiter and its
/// workers outlived it, then the test's directory.
func cleanUpDashboard(_ session: TmuxSession, _ control: String, _ directory: String) {
    let snapshot = try? controlStatus(control)
    let pids = (snapshot?.services.flatMap(\.workers).map(\.pid) ?? []) + [snapshot?.arbiter.pid].compactMap { $0 }
    session.shutdown()
    for pid in pids where isRunning(pid) { kill(pid, SIGKILL) }
    try? FileManager.default.removeItem(atPath: directory)
}
