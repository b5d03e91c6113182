import Arbiter
import PulseControl
import Foundation
import Glibc
import Testing

/// Workers that die, hang or fail to boot, and what the arbiter does about it.
@Suite(.blockingAllowed) struct SupervisionTests {
    @Test func aKilledWorkerIsReplacedWithinSeconds() async throws {
        let server = try PulseServer()
        defer { server.shutdown() }
        let before = try await server.waitForReady(2).services[0].workers
        let victim = before[0]
        kill(victim.pid, SIGKILL)
        // Spawned at once (the first unplanned exit has no back-off; 10 s leaves room for a
        // stalled machine); booting takes what the machine gives it, so readiness has the usual time.
        try await server.waitFor("a replacement for \(victim.name) spawned", timeout: 10) { status in
            status.services[0].workers.contains { $0.id == victim.id && $0.pid != victim.pid && $0.pid > 0 }
        }
        let after = try await server.waitFor("the replacement for \(victim.name) ready") { status in
            let workers = status.services[0].workers
            return workers.count == 2 && workers.allSatisfy { $0.state == .ready } && !workers.contains { $0.pid == victim.pid }
        }
        #expect(after.services[0].workers.first { $0.id == victim.id }?.restarts == 1)
        let exit = try #require(after.services[0].recentExits.last)
        #expect(exit.reason == "killed by signal SIGKILL (9)" && exit.failure)
        #expect(server.log.contains("worker \(victim.name) (pid \(victim.pid)) killed by signal SIGKILL (9)"))
    }

    /// A machine that freezes (suspend, a paused VM or container) stops the arbiter
    /// and its workers alike; waking up must not look like every worker hung.
    @Test func aFrozenMachineWakesUpWithItsWorkersAlive() async throws {
        let server = try PulseServer(arguments: ["-w", "2", "--timeout", "6"])
        defer { server.shutdown() }
        let before = try await server.waitForReady(2)
        let pids = before.services.flatMap(\.workers).map(\.pid)
        for pid in [before.arbiter.pid] + pids { kill(pid, SIGSTOP) }
        try await Task.sleep(for: .seconds(10))   // longer than --timeout; under load a shorter one kills for real
        // The arbiter wakes first (as it did when a frozen container thawed): its tick
        // runs before any worker could send a heartbeat.
        kill(before.arbiter.pid, SIGCONT)
        try await Task.sleep(for: .milliseconds(500))
        for pid in pids { kill(pid, SIGCONT) }
        try await Task.sleep(for: .seconds(7))   // longer than --timeout: heartbeats flow again
        let after = try server.status()
        #expect(after.services.flatMap(\.workers).map(\.pid) == pids, "no worker was killed for the freeze")
        // No exit since: a slow boot under a loaded machine may have cost one before.
        #expect(after.services.map(\.recentExits.count) == before.services.map(\.recentExits.count))
        #expect(server.log.contains("the arbiter was not scheduled for"))
    }

    @Test func aCrashingAppIsLoggedWithItsReasonAndRespawned() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        let before = try await server.waitForReady(1).services[0].workers[0]
        let port = try server.port()
        _ = try? await onThread { try HTTPProbe.get(port: port, "/crash") }
        // A crash costs a back-off before the respawn, and the boot after it may be slow on a loaded machine.
        let after = try await server.waitFor("the crashed worker replaced", timeout: 45) { status in
            let workers = status.services[0].workers
            return workers.count == 1 && workers[0].pid != before.pid && workers[0].state == .ready
        }
        let exit = try #require(after.services[0].recentExits.last)
        #expect(exit.failure && exit.reason.hasPrefix("killed by signal"))
        #expect(exit.inflight?.first?.hasPrefix("GET /crash (") == true, "\(exit)")
        try await eventually(timeout: 20, "the crash report and the app's output in the log") {
            server.log.contains("[web.1] about to crash") && server.log.contains("deliberate crash")
        }
        let crashLine = try #require(server.log.split(separator: "\n").first { $0.contains("Fatal error: deliberate crash") })
        #expect(crashLine.contains(" error ") && crashLine.contains("[web.1]"))
    }

    @Test func ctlKillGoesThroughTheSameSupervision() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        let before = try await server.waitForReady(1).services[0].workers[0]
        let result = try await runCommand("pulse", ["ctl", "--control", server.control, "kill", "web.1"])
        #expect(result.status == 0)
        #expect(result.output.contains("sent SIGKILL to web.1 (pid \(before.pid))"))
        let after = try await server.waitFor("web.1 replaced") { status in
            status.services[0].workers.count == 1 && status.services[0].workers[0].state == .ready
                && status.services[0].workers[0].pid != before.pid
        }
        #expect(after.services[0].recentExits.last?.reason.contains("asked by the operator (kill)") == true)
        let unknown = try await runCommand("pulse", ["ctl", "--control", server.control, "kill", "web.9"])
        #expect(unknown.status == 1 && unknown.output.contains("no worker named 'web.9'"))
    }

    @Test func aWorkerWithABlockedEventLoopIsKilledAfterTheTimeout() async throws {
        let server = try PulseServer(arguments: ["-w", "1", "--timeout", "2"])
        defer { server.shutdown() }
        let hung = try await server.waitForReady(1).services[0].workers[0]
        let port = try server.port()
        // The client sees its connection cut when the worker is killed.
        async let blocked = onThread { (try? HTTPProbe.exchange(port: port, "GET /block?s=60 HTTP/1.1\r\nHost: x\r\n\r\n", timeout: 30)) ?? "" }
        let started = Date()
        // Killed, not waited for: the request would hold the worker for 60 s.
        try await eventually(timeout: 40, every: 0.05, "the hung worker killed") { !isRunning(hung.pid) }
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 2 && elapsed < 30, "killed after \(elapsed)s with --timeout 2 and 3s to SIGKILL")
        let after = try await server.waitFor("the hung worker to be replaced", timeout: 40) { status in
            let workers = status.services[0].workers
            return workers.count == 1 && workers[0].pid != hung.pid && workers[0].state == .ready
        }
        #expect(!isRunning(hung.pid))
        // The hung worker's exit: with --timeout 2, a stall of the machine can also cost a
        // replacement its life (CI saw web.3 killed with nothing in flight), so not just the last.
        let exit = try #require(after.services[0].recentExits.last { $0.pid == hung.pid }, "\(after.services[0].recentExits)")
        #expect(exit.reason.hasPrefix("killed after 2s without a heartbeat (timeout)"))
        #expect(server.log.contains("sent no heartbeat"))
        // The post-mortem, read from its scoreboard: the request it was stuck on.
        let stuck = try #require(exit.inflight?.first, "no request in flight in \(exit)")
        #expect(stuck.hasPrefix("GET /block?s=60 ("), "\(stuck)")
        let postMortem = server.log.split(separator: "\n").filter { $0.contains("request(s) in flight") }
        #expect(postMortem.contains { $0.contains("(pid \(hung.pid)) had 1 request(s) in flight: GET /block?s=60 (") },
                "\(postMortem)")
        _ = try await blocked
        let port2 = try server.port()
        let hello = try await onThread { try HTTPProbe.get(port: port2, "/hello") }
        #expect(hello.status == 200)
    }

    @Test func bootFailuresBackOffThenTheServiceIsErroredUntilRestart() async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let flag = directory + "/fail-boot"
        _ = FileManager.default.createFile(atPath: flag, contents: nil)
        let server = try PulseServer(arguments: ["-w", "2"], environment: ["PULSE_TEST_FAIL_BOOT_FILE": flag])
        defer { server.shutdown() }
        let errored = try await server.waitFor("the service to be errored", timeout: 30) { status in
            status.services[0].state == .errored && status.services[0].workers.isEmpty
        }
        #expect(errored.services[0].consecutiveFailures >= 5)
        #expect(errored.services[0].recentExits.allSatisfy { $0.reason.hasPrefix("failed during boot: exited with code 3") })
        #expect(server.process.isRunning)
        #expect(server.log.contains("next spawn in"))
        #expect(server.log.contains("service web is errored"))
        #expect(server.log.contains("boot failed: told to fail at boot"))
        // It stays errored: no spawning while nobody fixes it.
        try await Task.sleep(for: .seconds(1))
        #expect(try server.status().services[0].workers.isEmpty)

        try FileManager.default.removeItem(atPath: flag)
        let restarted = try await runCommand("pulse", ["ctl", "--control", server.control, "restart"])
        #expect(restarted.status == 0)
        let running = try await server.waitForReady(2)
        #expect(running.services[0].state == .running)
    }

    @Test func maxRequestsRecyclesWorkersWithoutFailingARequest() async throws {
        let server = try PulseServer(arguments: ["-w", "1", "--max-requests", "5"])
        defer { server.shutdown() }
        let first = try await server.waitForReady(1).services[0].workers[0].pid
        let port = try server.port()
        for _ in 0..<5 {
            let reply = try await onThread { try HTTPProbe.get(port: port, "/hello") }
            #expect(reply.status == 200)
        }
        let after = try await server.waitFor("the worker to be recycled") { status in
            let workers = status.services[0].workers
            return workers.count == 1 && workers[0].pid != first && workers[0].state == .ready
        }
        #expect(after.services[0].recentExits.last?.reason == "recycled (max requests)")
        #expect(after.services[0].recentExits.last?.failure == false)
    }
}

extension SupervisionTests {
    @Test func aWorkerThatOutgrowsMaxWorkerMemoryIsRecycledNewReadyFirst() async throws {
        let server = try PulseServer(arguments: ["-w", "2", "--max-worker-memory", "96M"])
        defer { server.shutdown() }
        let before = try await server.waitForReady(2).services[0].workers.map(\.pid)
        let port = try server.port()
        // One worker takes 150 MB more and keeps it.
        #expect(try HTTPProbe.get(port: port, "/hold?mb=150").status == 200)
        let after = try await server.waitFor("the big worker recycled", timeout: 30) { status in
            status.services[0].recentExits.contains { $0.reason == "recycled (over --max-worker-memory)" }
                && status.services[0].workers.filter { $0.state == .ready }.count == 2
        }
        let recycled = try #require(after.services[0].recentExits.first { $0.reason.hasPrefix("recycled") })
        #expect(before.contains(recycled.pid) && !recycled.failure)
        #expect(after.services[0].workers.allSatisfy { $0.rssBytes < 96 << 20 })
        #expect(server.log.contains("over --max-worker-memory 96 MiB"))
        // Never fewer than two ready: the replacement was ready before the drain.
        #expect(!server.log.contains("failed"))
        let bad = try await runCommand("PulseTestApp", ["--max-worker-memory", "lots", "--no-dashboard"])
        #expect(bad.status == 64 && bad.output.contains("--max-worker-memory must be a size"), "\(bad.output)")
    }
}
