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
    /// queue into the cooperative slots: what the modes are about, read off the screen.
    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"))
    func theSaturatingLoadFillsTheThreadsAndTDrainsTheQueue() async throws {
        let (session, control, directory) = try startDashboard(extra: "--thread-workers 4")
        defer { cleanUp(session, control, directory) }
        try await eventually(timeout: 20, "2 ready workers") {
            (try? status(control))?.services[0].workers.filter { $0.state == .ready && $0.threads != nil }.count == 2
        }
        // The load is sized from the status the dashboard has: one with both workers' threads.
        try await session.waitFor("the dashboard with both workers' threads") { screen in
            screen.contains("2/2 workers") && ShownTotals(screen)?.threads.size == 8
        }
        session.send("g")
        try await session.waitFor("the light load") { $0.contains("LOAD LIGHT") }
        session.send("g")
        try await session.waitFor("the saturating load, sized to the threads") {
            $0.contains("load saturating: 24 clients on /sleep?ms=200, for 8 threads")
        }
        try await session.waitFor("the thread bar full, requests queued and the hint to press t") { screen in
            guard let totals = ShownTotals(screen) else { return false }
            return totals.threads == (8, 8) && totals.threadBarFull && totals.queue > 0
                && screen.contains("requests queue for threads, press t")
        }
        session.send("t")
        let sent = ContinuousClock.now
        // Generous for a loaded machine; the time it took is printed, and held to the 5 s below.
        let drained = try await session.waitFor("the queue drained into the cooperative slots", timeout: 30) { screen in
            guard let totals = ShownTotals(screen) else { return false }
            return screen.contains("web  cooperative") && totals.queue == 0 && totals.green.busy > 0
        }
        let took = ContinuousClock.now - sent
        print("the saturating load: queue 0 and green \(ShownTotals(drained).map { "\($0.green)" } ?? "?") on screen \(took) after t")
        #expect(took < .seconds(5), "the queue drained \(took) after t:\n\(drained)")
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

/// The totals pane as the screen shows it: ` threads ████ 8/8   green ░░░░ 0/400`
/// and ` queue 12   websockets 0 ...`.
struct ShownTotals {
    var threads: (busy: Int, size: Int)
    var green: (busy: Int, size: Int)
    var queue: Int
    /// No empty cell in the thread bar (`░`, or `.` on an ASCII terminal).
    var threadBarFull: Bool

    init?(_ screen: String) {
        let lines = screen.components(separatedBy: "\n").map { $0.split(separator: " ").map(String.init) }
        func pool(_ text: String) -> (Int, Int)? {
            let parts = text.split(separator: "/").compactMap { Int($0) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
        guard let bars = lines.first(where: { $0.count >= 6 && $0[0] == "threads" && $0[3] == "green" }),
              let threads = pool(bars[2]), let green = pool(bars[5]),
              let queue = lines.first(where: { $0.count >= 2 && $0[0] == "queue" }).flatMap({ Int($0[1]) }) else { return nil }
        self.threads = threads
        self.green = green
        self.queue = queue
        threadBarFull = !bars[1].contains("░") && !bars[1].contains(".")
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
