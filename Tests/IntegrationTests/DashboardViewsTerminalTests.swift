import PulseControl
import Foundation
import Glibc
import Testing

/// The dashboard's views on a real terminal (tmux) against the real binary: a
/// worker's inside view, log search, the mouse and the kill menu.
@Suite(.blockingAllowed) struct DashboardViewsTerminalTests {
    let pulse = PulseServer.binaries + "/pulse"

    /// `pulse` with its dashboard in tmux, run from its own directory (where `W` writes).
    func start(workers: Int = 2, height: Int = 45, extra: String = "") throws -> (TmuxSession, control: String, directory: String) {
        let directory = PulseServer.temporaryDirectory()
        let control = directory + "/control.sock"
        let command = "sh -c 'cd \(directory) && exec \(pulse) -w \(workers) -b 127.0.0.1:0 --control \(control) --data-store pulsar://127.0.0.1:0/0 \(extra)'"
        return (try TmuxSession(width: 160, height: height, command: command), control, directory)
    }


    func ready(_ control: String, _ count: Int) async throws -> StatusSnapshot {
        try await eventually(timeout: 20, "\(count) ready workers") {
            (try? controlStatus(control))?.services[0].workers.filter { $0.state == .ready }.count == count
        }
        return try controlStatus(control)
    }

    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"))
    func enterOnAWorkerShowsTheRequestItServes() async throws {
        let (session, control, directory) = try start()
        defer { cleanUpDashboard(session, control, directory) }
        let port = Int(try await ready(control, 2).services[0].binds[0].split(separator: ":").last ?? "") ?? 0
        try await session.waitFor("the dashboard") { $0.contains("2/2 workers") }
        // On a thread of its own: a blocking read on the cooperative pool would starve other suites.
        // 30 s: long enough for a loaded machine's dashboard to show it while it runs.
        Thread.detachNewThread { _ = try? HTTPProbe.get(port: port, "/sleep?ms=30000", timeout: 40) }
        // Which worker took it: `pulse ctl inspect` reads the scoreboards.
        var serving = ""
        try await eventually(timeout: 30, "a worker serving /sleep") {
            for name in ["web.1", "web.2"] {
                let inflight = try ControlClient(path: control).send(.inspect(worker: name)).inflight ?? []
                if inflight.contains(where: { $0.request.contains("/sleep?ms=30000") }) { serving = name }
            }
            return !serving.isEmpty
        }
        let ctl = try await runCommand("pulse", ["ctl", "--control", control, "inspect", serving])
        #expect(ctl.status == 0 && ctl.output.contains("GET /sleep?ms=30000 ("))
        if serving == "web.2" { session.send("Down") }
        session.send("Enter")
        try await session.waitFor("the inside view of \(serving) with the request") { screen in
            screen.contains(" \(serving)  pid ") && screen.contains("in flight now: 1") && screen.contains("GET /sleep?ms=30000")
        }
        session.send("Escape")
        try await session.waitFor("the table again") { !$0.contains("in flight now") && $0.contains("RPS TREND") }
    }

    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"))
    func searchHighlightsMatchesNMovesAndWWritesTheLog() async throws {
        let (session, control, directory) = try start()
        defer { cleanUpDashboard(session, control, directory) }
        _ = try await ready(control, 2)
        try await session.waitFor("the three workers' ready lines in the log") { $0.components(separatedBy: ") ready in ").count > 3 }
        session.send("/")
        session.send("-l", "ready")
        session.send("Enter")
        let first = try await session.waitFor("the first match") { $0.contains("match 1 of") && $0.contains("for 'ready'") }
        #expect(first.contains("search: ready"))
        // Highlighted: an attribute starts exactly where the word does.
        let styled = session.captureStyled()
        #expect(styled.range(of: "\u{1b}\\[[0-9;]*mready", options: .regularExpression) != nil, "no highlighted match:\n\(styled)")
        session.send("n")
        try await session.waitFor("the next match") { $0.contains("match 2 of") }
        session.send("W")
        let screen = try await session.waitFor("where the log was written") { $0.contains("wrote ") && $0.contains(" lines to ") }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("pulse-log-") }
        #expect(files.count == 1, "\(screen)")
        let text = try String(contentsOfFile: directory + "/" + (files.first ?? ""), encoding: .utf8)
        #expect(text.contains("arbiter") && text.contains(" ready"))
    }

    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"))
    func aClickSelectsAWorkerAndTheKillMenuSendsTERM() async throws {
        let (session, control, directory) = try start()
        defer { cleanUpDashboard(session, control, directory) }
        let before = try await ready(control, 2).services[0].workers
        let screen = try await session.waitFor("both workers") { $0.contains(" web.2 ") && $0.contains("2/2 workers") }
        let row = try #require(screen.components(separatedBy: "\n").firstIndex { $0.hasPrefix(" web.2 ") })
        session.click(x: 3, y: row)
        session.send("Enter")
        try await session.waitFor("the inside view of web.2, selected by the click") { $0.contains(" web.2  pid ") }
        session.send("Escape")
        session.send("k")
        let menu = try await session.waitFor("the signal menu") { $0.contains("signal web.2 (pid ") && $0.contains("t TERM (drain)") }
        // The pid the menu names: web.2 may have been replaced since `before` on a loaded
        // machine, so it is checked against the arbiter's status now.
        let named = menu.components(separatedBy: "signal web.2 (pid ").last?.prefix { $0.isNumber } ?? ""
        let old = try #require(Int32(named))
        let current = try controlStatus(control).services[0].workers
        #expect(current.contains { $0.name == "web.2" && $0.pid == old }, "the menu names pid \(old); web.2 is \(current), first \(before)")
        session.send("t")
        let process = ProcessIdentity(old)
        func logged(_ text: String) throws -> Bool {
            (try ControlClient(path: control).send(.logs(after: 0)).logs ?? []).contains { $0.text.contains(text) }
        }
        // In stages, so that a failure on a loaded CI machine says which one did not come.
        do {
            try await eventually(timeout: 20, "the arbiter to log the kill") { try logged("dashboard: kill: SIGTERM to worker web.2") }
            try await eventually(timeout: 40, "web.2 to exit") { !process.isRunning }
            // The replacement takes the lowest free number: web.2 again if web.2 has gone by
            // then, web.3 if it is still draining when the arbiter spawns.
            try await eventually(timeout: 40, "web.2 replaced: two web workers ready, neither web.2's old pid") {
                let workers = try controlStatus(control).services[0].workers
                return workers.count == 2 && workers.allSatisfy { $0.pid != old && $0.state == .ready }
            }
        } catch {
            // What the arbiter saw, so a failure on a loaded CI machine says where it stopped.
            let workers = (try? controlStatus(control).services[0].workers.map { "\($0.name) pid \($0.pid) \($0.state)" }) ?? []
            let lines = ((try? ControlClient(path: control).send(.logs(after: 0)).logs) ?? []).suffix(30).map(\.text)
            Issue.record("old \(process) running: \(process.isRunning); workers: \(workers)\nlog:\n\(lines.joined(separator: "\n"))\nscreen:\n\(session.capture())")
            throw error
        }
        #expect(try logged("exited with code 0, asked by the operator (kill)"))
    }

    /// `A` with bounds, then the saturating load: a worker is added, and removed
    /// (drained) once the load stops; the header says why.
    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"))
    func autoscalingFromTheDashboardFollowsTheLoad() async throws {
        let (session, control, directory) = try start(workers: 1, extra: "--thread-workers 4")
        defer { cleanUpDashboard(session, control, directory) }
        _ = try await ready(control, 1)
        try await session.waitFor("the dashboard") { $0.contains("1/1 workers") }
        session.send("A")
        try await session.waitFor("the bounds prompt") { $0.contains("autoscale web between MIN:MAX workers") }
        session.send("BSpace", "BSpace", "BSpace")
        session.send("-l", "1:2")
        session.send("Enter")
        try await eventually(timeout: 30, "autoscale 1-2 in the status") { try controlStatus(control).services[0].autoscale?.max == 2 }
        // The load is sized from the status the dashboard has: one with the worker's threads.
        try await session.waitFor("the worker's threads on screen") { ShownTotals($0)?.threads.size == 4 }
        session.send("g")
        try await session.waitFor("the light load") { $0.contains("LOAD LIGHT") }
        session.send("g")
        try await session.waitFor("the saturating load, sized to the threads") {
            $0.contains("load saturating: 12 clients on /sleep?ms=200, for 4 threads")
        }
        try await eventually(timeout: 30, "a second worker under the saturating load") {
            let service = try controlStatus(control).services[0]
            return service.targetWorkers == 2 && service.workers.filter { $0.state == .ready }.count == 2
        }
        try await session.waitFor("the decision in the header") { $0.contains("autoscale 1-2 (1 -> 2 workers: pool") }
        session.send("g")
        try await session.waitFor("the load off") { !$0.contains("LOAD SATURATING") }
        try await eventually(timeout: 40, "back to one worker once the load stopped") {
            let service = try controlStatus(control).services[0]
            return service.targetWorkers == 1 && service.workers.count == 1
        }
        let logs = try ControlClient(path: control).send(.logs(after: 0)).logs ?? []
        #expect(logs.contains { $0.text.hasPrefix("autoscale web: 1 -> 2 workers: pool") })
        #expect(logs.contains { $0.text.hasPrefix("autoscale web: 2 -> 1 workers: pool") })
    }

    /// With `--database`, the saturating load sends `/db` too: its label says so and the
    /// worker's database pool fills, against the suite's real PostgreSQL.
    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"))
    func withADatabaseTheSaturatingLoadFillsItsPool() async throws {
        let cluster = try await onThread { try PostgresCluster.shared() }
        let (session, control, directory) = try start(workers: 1, extra: "--thread-workers 4 --database \(cluster.url)")
        defer { cleanUpDashboard(session, control, directory) }
        _ = try await ready(control, 1)
        // The pool is reported from boot, before any query: the load knows to send /db.
        try await session.waitFor("the worker's threads on screen") { ShownTotals($0)?.threads.size == 4 }
        try await eventually(timeout: 20, "the pool in the status") { try controlStatus(control).services[0].workers[0].database != nil }
        session.send("g")
        try await session.waitFor("the light load") { $0.contains("LOAD LIGHT") }
        session.send("g")
        try await session.waitFor("the saturating load, with /db") {
            $0.contains("load saturating: 12 clients on /sleep?ms=200 and /db?ms=200, for 4 threads")
        }
        try await eventually(timeout: 30, "queries holding the database pool") {
            (try controlStatus(control).services[0].workers[0].database?.inUse ?? 0) > 0
        }
        session.send("g")
        try await session.waitFor("the load off") { !$0.contains("LOAD SATURATING") }
    }

    /// `pulse top` with two `--control`: a line per arbiter, their workers grouped,
    /// and a key acting on the arbiter of the selected worker only.
    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"))
    func pulseTopWatchesTwoArbitersAndActsOnTheSelectedOne() async throws {
        let first = try PulseServer(binary: "pulse", arguments: ["-w", "1"])
        defer { first.shutdown() }
        let second = try PulseServer(binary: "pulse", arguments: ["-w", "1"])
        defer { second.shutdown() }
        let pids = (try await first.waitForReady(1).arbiter.pid, try await second.waitForReady(1).arbiter.pid)
        let session = try TmuxSession(width: 160, height: 40,
                                      command: "\(pulse) top --control \(first.control) --control \(second.control)")
        defer { session.shutdown() }
        try await session.waitFor("both arbiters and their workers") { screen in
            screen.contains(" 1  pid \(pids.0)") && screen.contains(" 2  pid \(pids.1)") && screen.contains("2 arbiters")
                && screen.contains(" 1/web.1 ") && screen.contains(" 2/web.1 ")
        }
        session.send("Down", "Down")   // past 1/ds.1, the first arbiter's data store
        session.send("+")
        try await second.waitFor("a second worker on the second arbiter", timeout: 15) { status in
            status.services[0].workers.filter { $0.state == .ready }.count == 2
        }
        try await session.waitFor("2/web.2 on screen") { $0.contains(" 2/web.2 ") }
        #expect(try first.status().services[0].targetWorkers == 1, "the first arbiter was not asked")
        session.send("q")
        session.send("y")
        try await eventually(timeout: 30, "pulse top to exit") { session.commandExited }
        #expect(isRunning(pids.0) && isRunning(pids.1), "watching never stops a server")
    }
}
