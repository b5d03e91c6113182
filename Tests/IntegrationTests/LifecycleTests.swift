import Arbiter
import PulseControl
import Foundation
import Glibc
import Testing

/// Starting, refusing to start, and stopping.
@Suite(.blockingAllowed) struct LifecycleTests {
    @Test func sigtermFinishesRequestsInFlightAndExitsZeroWithNoChildLeft() async throws {
        let server = try PulseServer()
        defer { server.shutdown() }
        let workers = try await server.waitForReady(2).services[0].workers.map(\.pid)
        let port = try server.port()
        // Long enough for a heartbeat to show it in flight, however busy the machine.
        async let slow = onThread { try HTTPProbe.get(port: port, "/sleep?ms=8000", timeout: 40) }
        try await server.waitFor("the slow request in flight") { status in
            status.services[0].workers.contains { $0.inflight == 1 }
        }
        server.signal(SIGTERM)
        let reply = try await slow
        #expect(reply.status == 200 && reply.body == "slept 8000 ms\n")
        #expect(try await server.waitForExit(timeout: 30) == 0)
        for pid in workers { #expect(!isRunning(pid)) }
        #expect(!FileManager.default.fileExists(atPath: server.control))
        #expect(server.log.contains("shutting down gracefully"))
    }

    @Test func aClientLeavingMidRequestDoesNotHoldUpTheDrain() async throws {
        let server = try PulseServer(arguments: ["-w", "1", "--graceful-timeout", "20"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        try await onThread {
            let fd = try HTTPProbe.connect(port: port, timeout: 5)
            try HTTPProbe.sendAll(fd, Array("GET /sleep?ms=800 HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            usleep(200_000)
            close(fd)                           // gone before its answer
        }
        server.signal(SIGTERM)
        let started = Date()
        #expect(try await server.waitForExit(timeout: 30) == 0)
        // Waiting for the request would take until the 20 s graceful timeout.
        #expect(Date().timeIntervalSince(started) < 15, "the drain waited for a request nobody will read")
    }

    @Test func sigquitStopsAtOnce() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        let worker = try await server.waitForReady(1).services[0].workers[0].pid
        let port = try server.port()
        async let slow = onThread { try? HTTPProbe.get(port: port, "/sleep?ms=20000") }
        try await server.waitFor("the slow request in flight") { $0.services[0].workers.contains { $0.inflight == 1 } }
        let started = Date()
        server.signal(SIGQUIT)
        // A graceful stop would wait for the 20 s request.
        #expect(try await server.waitForExit(timeout: 15) != nil)
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(!isRunning(worker))
        let reply = try await slow
        #expect(reply?.status != 200)
    }

    @Test func aSecondSigintStopsAtOnce() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        async let slow = onThread { try? HTTPProbe.get(port: port, "/sleep?ms=20000") }
        try await server.waitFor("the slow request in flight") { $0.services[0].workers.contains { $0.inflight == 1 } }
        server.signal(SIGINT)
        try await server.waitFor("the graceful shutdown") { $0.arbiter.state == "stopping" }
        #expect(server.process.isRunning)
        server.signal(SIGINT)
        #expect(try await server.waitForExit(timeout: 15) != nil)   // a graceful stop would wait for the 20 s request
        #expect(server.log.contains("SIGINT: stopping at once"))
        _ = try await slow
    }

    @Test func sigkillOfTheArbiterLeavesNoOrphans() async throws {
        let server = try PulseServer()
        defer { server.shutdown() }
        let workers = try await server.waitForReady(2).services[0].workers.map(\.pid)
        server.signal(SIGKILL)
        try await eventually(timeout: 20, "every worker to exit by itself") { workers.allSatisfy { !isRunning($0) } }
    }

    @Test func pidfileRefusesALiveProcessAndReplacesAStaleOne() async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pidfile = directory + "/pulse.pid"

        try "\(getpid())\n".write(toFile: pidfile, atomically: true, encoding: .utf8)
        let refused = try await runCommand("PulseTestApp", ["-b", "127.0.0.1:0", "--control", directory + "/c.sock", "--pidfile", pidfile])
        #expect(refused.status == 1)
        #expect(refused.output.contains("pidfile \(pidfile): it names process \(getpid()), which is running"))
        #expect(try String(contentsOfFile: pidfile, encoding: .utf8) == "\(getpid())\n")

        // A pid that cannot be running: beyond the kernel's limit.
        try "4194305\n".write(toFile: pidfile, atomically: true, encoding: .utf8)
        let server = try PulseServer(arguments: ["-w", "1", "--pidfile", pidfile])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        #expect(try String(contentsOfFile: pidfile, encoding: .utf8) == "\(server.pid)\n")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit(timeout: 30) == 0)
        #expect(!FileManager.default.fileExists(atPath: pidfile))
    }

    @Test(arguments: [
        (["-w", "0"], "--workers"),
        (["--workers", "many"], "workers"),
        (["--timeout", "-1"], "--timeout"),
        (["--graceful-timeout", "-5"], "--graceful-timeout"),
        (["--max-requests", "-1"], "--max-requests"),
        (["-b", "localhost"], "--bind"),
        (["-b", "127.0.0.1:99999"], "--bind"),
        (["--log-level", "loud"], "--log-level"),
        (["--keep-alive", "0"], "--keep-alive"),
        (["--data-store", "http://127.0.0.1:1/0"], "--data-store"),
        (["--data-store", "pulsar://127.0.0.1:6410/99"], "--data-store"),
        (["--thread-workers", "0"], "--thread-workers"),
        (["--mode", "turbo"], "--mode"),
        (["--max-body", "lots"], "--max-body"),
    ])
    func badFlagValuesExitNonZeroNamingTheFlag(arguments: [String], flag: String) async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await runCommand("pulse", arguments + ["--control", directory + "/c.sock"])
        #expect(result.status != 0)
        #expect(result.output.contains(flag), "output: \(result.output)")
        #expect(!result.output.contains("booting worker"))
    }

    @Test func aPortInUseIsAClearErrorAtStartUp() async throws {
        let (fd, port) = try boundSocket(listening: true)
        defer { close(fd) }
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await runCommand("pulse", ["-b", "127.0.0.1:\(port)", "--control", directory + "/c.sock"])
        #expect(result.status == 1)
        #expect(result.output.contains("cannot listen on 127.0.0.1:\(port): Address already in use (--bind)"))
        #expect(!result.output.contains("booting worker"))
    }

    @Test func aSecondArbiterOnTheSameControlSocketIsRefused() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let second = try await runCommand("pulse", ["-b", "127.0.0.1:0", "--control", server.control, "--data-store", "pulsar://127.0.0.1:0/0"])
        #expect(second.status == 1 && second.output.contains("in use by another arbiter"))
        #expect(try server.status().services[0].workers.count == 1)
    }

    @Test func ctlStatusPrintsATableAndJSON() async throws {
        let server = try PulseServer(arguments: ["-w", "2"])
        defer { server.shutdown() }
        let status = try await server.waitForReady(2)
        let table = try await runCommand("pulse", ["ctl", "--control", server.control, "status"])
        #expect(table.status == 0)
        #expect(table.output.contains("service web  running  thread  2/2 workers"))
        for worker in status.services[0].workers { #expect(table.output.contains("\(worker.pid)")) }

        let json = try await runCommand("pulse", ["ctl", "--control", server.control, "status", "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let arbiter = try #require(object["arbiter"] as? [String: Any])
        #expect(arbiter["pid"] as? Int == Int(server.pid))
        let services = try #require(object["services"] as? [[String: Any]])
        #expect(services[0]["name"] as? String == "web")
        #expect(services[0]["target_workers"] as? Int == 2)
        let worker = try #require((services[0]["workers"] as? [[String: Any]])?.first)
        for key in ["id", "pid", "state", "uptime_s", "requests", "rps", "inflight", "last_heartbeat_ms", "restarts", "rss_bytes", "cpu_percent"] {
            #expect(worker[key] != nil, "missing \(key)")
        }
        #expect((worker["rss_bytes"] as? Int ?? 0) > 1_000_000)

        let missing = try await runCommand("pulse", ["ctl", "--control", server.directory + "/nobody.sock", "status"])
        #expect(missing.status == 2 && missing.output.contains("is an arbiter running"))
        let unknown = try await runCommand("pulse", ["ctl", "--control", server.control, "dance"])
        #expect(unknown.status != 0 && unknown.output.contains("unknown command 'dance'"))
    }
}

extension LifecycleTests {
    /// logrotate without copytruncate: move the file away, USR1, and the arbiter
    /// writes to a new file of the old name.
    @Test func usr1ReopensTheLogFileByItsName() async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logFile = directory + "/pulse.log"
        let server = try PulseServer(arguments: ["-w", "1", "--log-file", logFile])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        #expect(try String(contentsOfFile: logFile, encoding: .utf8).contains("arbiter started"))
        try FileManager.default.moveItem(atPath: logFile, toPath: logFile + ".1")
        server.signal(SIGUSR1)
        try await eventually(timeout: 30, "a new log file") { FileManager.default.fileExists(atPath: logFile) }
        #expect(try server.request(.scale(.by(1), service: "web")).ok)
        try await eventually(timeout: 30, "the scale logged in the new file") {
            ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").contains("scale +1")
        }
        let rotated = try String(contentsOfFile: logFile + ".1", encoding: .utf8)
        #expect(!rotated.contains("scale +1"), "nothing more goes to the rotated file")
        #expect(try String(contentsOfFile: logFile, encoding: .utf8).contains("SIGUSR1: reopened the log file \(logFile)"))
    }
}

extension LifecycleTests {
    static let canSwitchUser = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

    /// Another user who can reach the socket (its mode opened up on purpose) is
    /// refused by the arbiter itself; the owner still steers.
    @Test(.enabled(if: LifecycleTests.canSwitchUser, "needs root and setpriv to act as another user"))
    func anotherUserIsRefusedWhateverTheSocketsMode() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        chmod(server.directory, 0o755)
        chmod(server.control, 0o666)
        let environment = ProcessInfo.processInfo.environment.filter { $0.key != "PULSE_WORKER" }
        let other = try await onThread {
            try runCapturing(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              PulseServer.binaries + "/pulse", "ctl", "--control", server.control, "scale", "+1"],
                             environment: environment)
        }
        #expect(other.status == 1, "\(other.output)")
        #expect(other.output.contains("uid 65534 may not use this control socket: only uid 0"), "\(other.output)")
        #expect(try server.status().services[0].targetWorkers == 1, "nothing changed")
        #expect(try server.request(.scale(.by(1), service: "web")).ok, "the owner still steers")
    }
}

extension LifecycleTests {
    @Test(arguments: ["common", "combined", "json"])
    func accessLinesGoToTheFileInEachFormat(format: String) async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/access.log"
        let server = try PulseServer(arguments: ["-w", "1", "--access-log", path, "--access-log-format", format])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        _ = try HTTPProbe.exchange(port: port, "GET /hello?x=\"1\" HTTP/1.1\r\nHost: x\r\nUser-Agent: probe/1\r\nReferer: http://r/\r\nConnection: close\r\n\r\n")
        #expect(try HTTPProbe.get(port: port, "/nothing-here").status == 404)
        var lines: [String] = []
        try await eventually(timeout: 30, "two access lines") {
            lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            return lines.count == 2
        }
        switch format {
        case "json":
            let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
            #expect(first["path"] as? String == "/hello?x=\"1\"" && first["status"] as? Int == 200 && first["bytes"] as? Int == 13)
            #expect(first["worker"] as? String == "web.1" && first["user_agent"] as? String == "probe/1" && first["remote"] as? String == "127.0.0.1")
            #expect((first["duration_ms"] as? Double).map { $0 >= 0 } == true)
            let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
            #expect(second["status"] as? Int == 404)
        default:
            #expect(lines[0].hasPrefix("127.0.0.1 - - ["), "\(lines[0])")
            #expect(lines[0].contains(#""GET /hello?x=\"1\" HTTP/1.1" 200 13"#), "\(lines[0])")
            #expect(lines[0].hasSuffix(#" "http://r/" "probe/1""#) == (format == "combined"), "\(lines[0])")
            #expect(lines[1].contains(#""GET /nothing-here HTTP/1.1" 404 "#), "\(lines[1])")
        }
        // USR1: the workers reopen it by its name too.
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        server.signal(SIGUSR1)
        try await eventually(timeout: 30, "a line in a new access log") {
            _ = try? HTTPProbe.get(port: port, "/hello")
            return ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").contains("/hello")
        }
    }

    @Test func accessLinesGoToTheMergedLogWithADash() async throws {
        let server = try PulseServer(arguments: ["-w", "1", "--access-log", "-"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        #expect(try HTTPProbe.get(port: try server.port(), "/hello").status == 200)
        try await eventually(timeout: 30, "the access line, tagged with its worker") {
            server.log.contains("[web.1] 127.0.0.1 - - [") && server.log.contains("\"GET /hello HTTP/1.1\" 200 13")
        }
        let bad = try await runCommand("PulseTestApp", ["--access-log-format", "xml", "--no-dashboard"])
        #expect(bad.status == 64 && bad.output.contains("--access-log-format must be common, combined or json"), "\(bad.output)")
    }
}
