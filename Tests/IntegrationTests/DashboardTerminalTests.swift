import Arbiter
import PulseControl
import Foundation
import Glibc
import Testing

/// The dashboard on a real terminal (tmux), driven by keys, against the real binary.
@Suite(.blockingAllowed) struct DashboardTerminalTests {
    let pulse = PulseServer.binaries + "/pulse"

    /// Starts `pulse` with its dashboard in a tmux window; the control socket lets the
    /// test check what the keys did.
    func startDashboard(width: Int = 160, height: Int = 45, extra: String = "",
                        environment: [String: String] = [:]) throws -> (TmuxSession, String, String) {
        let directory = PulseServer.temporaryDirectory()
        let control = directory + "/control.sock"
        let session = try TmuxSession(width: width, height: height,
                                      command: "\(pulse) -w 2 -b 127.0.0.1:0 --control \(control) --data-store pulsar://127.0.0.1:0/0 \(extra)",
                                      environment: environment)
        return (session, control, directory)
    }

    func status(_ control: String) throws -> StatusSnapshot { try controlStatus(control) }

    func cleanUp(_ session: TmuxSession, _ control: String, _ directory: String) {
        cleanUpDashboard(session, control, directory)
    }

    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"))
    func keysScaleToggleHelpResizeAndQuit() async throws {
        let (session, control, directory) = try startDashboard()
        defer { cleanUp(session, control, directory) }
        try await eventually(timeout: 20, "the arbiter's control socket") { (try? status(control))?.services[0].workers.count == 2 }
        let first = try status(control)
        let arbiter = first.arbiter.pid
        try await session.waitFor("both worker pids on screen") { screen in
            first.services[0].workers.allSatisfy { screen.contains(" \($0.pid) ") } && screen.contains("2/2 workers")
        }

        session.send("+")
        try await eventually(timeout: 15, "3 ready workers after +") {
            let workers = try status(control).services[0].workers
            return workers.count == 3 && workers.allSatisfy { $0.state == .ready }
        }
        try await session.waitFor("3/3 workers on screen") { $0.contains("3/3 workers") }
        session.send("-")
        try await eventually(timeout: 15, "2 workers after -") { try status(control).services[0].workers.count == 2 }

        session.send("t")
        try await eventually(timeout: 30, "cooperative mode in pulse ctl status") {
            let service = try status(control).services[0]
            return service.mode == .cooperative && service.workers.allSatisfy { $0.mode == "cooperative" }
        }
        try await session.waitFor("cooperative mode on screen") { $0.contains("web  cooperative") }

        session.send("?")
        try await session.waitFor("the help overlay") { $0.contains("Keys") && $0.contains("toggle thread / cooperative mode") }
        session.send("x")
        try await session.waitFor("the help closed") { !$0.contains("toggle thread / cooperative mode") }

        session.resize(width: 30, height: 8)
        try await session.waitFor("the too-small notice") { $0.contains("Terminal too small: 30x8") }
        session.resize(width: 160, height: 45)
        let pids = try status(control).services[0].workers.map(\.pid)
        try await session.waitFor("the workers again after the resize") { screen in pids.allSatisfy { screen.contains(" \($0) ") } }

        session.send("q")
        try await session.waitFor("the quit question") { $0.contains("stop the server (graceful drain)? y/n") }
        session.send("y")
        try await eventually(timeout: 15, "the arbiter to exit") { !isRunning(arbiter) }
        for pid in pids { #expect(!isRunning(pid)) }
        try await session.waitFor("the arbiter's last words on the restored terminal") { $0.contains("arbiter exiting with code 0") }
    }

    /// The saturating load fills the thread pools and queues requests; `t` drains the
    /// queue into the cooperative slots: what the modes are about, on screen.
    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"))
    func theSaturatingLoadFillsTheThreadsAndTDrainsTheQueue() async throws {
        let (session, control, directory) = try startDashboard(extra: "--thread-workers 4")
        defer { cleanUp(session, control, directory) }
        try await eventually(timeout: 20, "2 ready workers") {
            (try? status(control))?.services[0].workers.filter { $0.state == .ready && $0.threads != nil }.count == 2
        }
        try await session.waitFor("the dashboard") { $0.contains("2/2 workers") }
        session.send("g")
        try await session.waitFor("the light load") { $0.contains("LOAD LIGHT") }
        session.send("g")
        try await eventually(timeout: 15, "every thread busy and requests queued") {
            let workers = try status(control).services[0].workers
            return workers.allSatisfy { $0.threads?.busy == 4 } && workers.contains { ($0.queue ?? 0) > 0 }
        }
        try await session.waitFor("the hint to press t") { $0.contains("requests queue for threads, press t") }
        session.send("t")
        try await eventually(timeout: 30, "the queue drained into the cooperative slots") {
            let workers = try status(control).services[0].workers
            return workers.allSatisfy { $0.mode == "cooperative" && $0.queue == 0 } && workers.contains { ($0.green?.busy ?? 0) > 0 }
        }
        session.send("g")
        try await session.waitFor("the load off") { !$0.contains("LOAD SATURATING") }
    }

    /// Closing the terminal (here: the tmux server goes, and with it the pty) is a
    /// graceful shutdown; after `d` it is not, and the server runs on headless.
    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"), arguments: [false, true])
    func aTerminalHangUpStopsTheServerUnlessTheDashboardWasDetached(detach: Bool) async throws {
        let (session, control, directory) = try startDashboard()
        defer { cleanUp(session, control, directory) }
        try await eventually(timeout: 20, "2 ready workers") {
            (try? status(control))?.services[0].workers.filter { $0.state == .ready }.count == 2
        }
        let first = try status(control)
        let arbiter = first.arbiter.pid
        let workers = first.services.flatMap(\.workers).map(\.pid)
        let port = Int(first.services[0].binds[0].split(separator: ":").last!)!
        try await session.waitFor("the dashboard") { $0.contains("2/2 workers") }
        if detach {
            session.send("d")
            try await eventually(timeout: 30, "the arbiter to log the detach") {
                let logs = try ControlClient(path: control).send(.logs(after: 0)).logs ?? []
                return logs.contains { $0.text.contains("dashboard detached") }
            }
        }
        session.shutdown()
        if detach {
            try await eventually(timeout: 30, "the arbiter to log the hang-up") {
                let logs = try ControlClient(path: control).send(.logs(after: 0)).logs ?? []
                return logs.contains { $0.text.contains("the terminal hung up; the dashboard was detached") }
            }
            #expect(isRunning(arbiter))
            #expect(try HTTPProbe.get(port: port, "/").status == 200)
            #expect(try ControlClient(path: control).send(.stop(now: false)).ok)
            try await eventually(timeout: 20, "the arbiter to stop when told") { !isRunning(arbiter) }
        } else {
            try await eventually(timeout: 20, "the arbiter and its workers to exit") {
                !isRunning(arbiter) && workers.allSatisfy { !isRunning($0) }
            }
            #expect(throws: (any Error).self, "nothing listens on the port any more") {
                try HTTPProbe.connect(port: port, timeout: 2)
            }
        }
    }

    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"))
    func aCrashedDashboardLeavesTheServerRunningHeadless() async throws {
        let (session, control, directory) = try startDashboard()
        defer { cleanUp(session, control, directory) }
        try await eventually(timeout: 20, "two ready workers") {
            (try? status(control))?.services[0].workers.filter { $0.state == .ready }.count == 2
        }
        let workers = try status(control).services[0].workers.map(\.pid)
        try await session.waitFor("the dashboard") { $0.contains("2/2 workers") }
        let dashboard = try #require(childProcesses(of: try status(control).arbiter.pid).first { commandLine(of: $0) == "pulse: dashboard" })
        kill(dashboard, SIGSEGV)
        try await session.waitFor("the arbiter saying it goes on headless") {
            $0.contains("the dashboard killed by signal SIGSEGV (11); the server carries on headless")
        }
        #expect(try status(control).services[0].workers.map(\.pid) == workers)
        let port = Int(try status(control).services[0].binds[0].split(separator: ":").last!)!
        let reply = try await onThread { try HTTPProbe.get(port: port, "/hello") }
        #expect(reply.status == 200)
        // Headless now: logs reach the terminal.
        _ = try ControlClient(path: control).send(.scale(.by(1), service: nil))
        try await session.waitFor("a log line on the terminal") { $0.contains("control socket: scale +1: service web") }
    }

    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"))
    func pulseTopAttachesAndLeavesTheServerRunning() async throws {
        let server = try PulseServer(binary: "pulse", arguments: ["-w", "2"])
        defer { server.shutdown() }
        let workers = try await server.waitForReady(2).services[0].workers
        let session = try TmuxSession(width: 120, height: 30, command: "\(pulse) top --control \(server.control) --layout compact")
        defer { session.shutdown() }
        try await session.waitFor("pulse top showing the workers") { screen in
            workers.allSatisfy { screen.contains($0.name) } && screen.contains("layout compact")
        }
        session.send("L")
        try await session.waitFor("the next layout") { $0.contains("layout logs") }
        session.send("g")
        try await server.waitFor("requests from the built-in load", timeout: 30) { status in
            status.services[0].workers.reduce(0) { $0 + $1.requests } > 20
        }
        session.send("g")
        session.send("q")
        session.send("y")
        try await eventually(timeout: 30, "pulse top to exit") { session.commandExited }
        #expect(try server.status().services[0].workers.map(\.pid) == workers.map(\.pid))
    }

    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"))
    func dumbTerminalsAndNoDashboardRunHeadless() async throws {
        for (extra, environment) in [("", ["TERM": "dumb"]), ("--no-dashboard", [:])] {
            let (session, control, directory) = try startDashboard(extra: extra, environment: environment)
            defer { cleanUp(session, control, directory) }
            try await session.waitFor("plain log lines (\(extra) \(environment))") { screen in
                screen.contains("[arbiter] worker web.1") && !screen.contains("+/- scale")
            }
        }
    }

    @Test func aBrokenLayoutIsAClearErrorNamingTheFile() async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/broken.yaml"
        try "name: broken\nmin_width: 80\nmin_height: 20\nrows:\n  - height: tall\n    panes: [{pane: logs}]\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await runCommand("pulse", ["top", "--control", directory + "/c.sock", "--layout", path])
        #expect(result.status != 0)
        #expect(result.output.contains("--layout: layout \(path): 'tall' is not a size"))
    }
}

/// Direct children of a process, from /proc.
func childProcesses(of parent: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == parent
    }
}
