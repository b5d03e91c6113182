import Arbiter
import PulseControl
import Foundation
import Mailbox
import Glibc
import Testing

/// Thread and cooperative execution, seen from outside: waves, occupancy, the
/// queue, and switching while requests run.
@Suite(.blockingAllowed) struct ExecutionTests {
    @Test func threadModeRunsInWavesCooperativeModeInOne() async throws {
        let server = try PulseServer(arguments: ["-w", "1", "--thread-workers", "4"])
        defer { server.shutdown() }
        let ready = try await server.waitForReady(1)
        #expect(ready.services[0].mode == .thread)
        let port = try server.port()

        // Waves of 5 s: long enough for a heartbeat to show each on a stalled machine,
        // and for the bounds below to stay apart from the next number of waves.
        async let threadRun = concurrently(8, port: port, "/sleep?ms=5000", timeout: 40)
        try await server.waitFor("4 busy threads and 4 queued", timeout: 15) { status in
            let worker = status.services[0].workers[0]
            return worker.threads?.busy == 4 && worker.threads?.size == 4 && worker.queue == 4 && worker.mode == "thread"
        }
        let threads = try await threadRun
        #expect(threads.statuses == Array(repeating: 200, count: 8))
        // At least two waves; that they ran four at a time, the status above showed.
        #expect(threads.seconds >= 10.0, "8 requests of 5 s on 4 threads took \(threads.seconds) s")

        let switched = try await runCommand("pulse", ["ctl", "--control", server.control, "mode", "cooperative"])
        #expect(switched.status == 0 && switched.output.contains("cooperative"))
        try await server.waitFor("the worker to report cooperative mode", timeout: 20) {
            $0.services[0].mode == .cooperative && $0.services[0].workers[0].mode == "cooperative"
        }
        async let greenRun = concurrently(8, port: port, "/sleep?ms=5000", timeout: 40)
        try await server.waitFor("8 busy in the green pool", timeout: 15) { status in
            let worker = status.services[0].workers[0]
            return worker.green?.busy == 8 && worker.green?.size == 100 && worker.queue == 0
        }
        let green = try await greenRun
        #expect(green.statuses == Array(repeating: 200, count: 8))
        // One wave: two would take at least 10 s.
        #expect(green.seconds >= 5.0 && green.seconds < 10.0, "one wave of 5 s took \(green.seconds) s")
    }

    @Test func switchingModesUnderLoadFailsNothing() async throws {
        let server = try PulseServer(arguments: ["-w", "2", "--thread-workers", "2"])
        defer { server.shutdown() }
        try await server.waitForReady(2)
        let load = RequestLoop(port: try server.port(), path: "/sleep?ms=30", threads: 4)
        // Each switch comes after the load has made progress in the previous mode, so
        // requests are in flight at every switch however slow the machine is.
        for mode: ExecutionMode in [.cooperative, .thread, .cooperative, .thread, .cooperative, .thread] {
            let before = load.counts.succeeded
            try await eventually(timeout: 20, "5 more requests before switching to \(mode)") { load.counts.succeeded >= before + 5 }
            #expect(try server.request(.mode(mode, service: nil)).ok)
        }
        let last = load.counts.succeeded
        try await eventually(timeout: 20, "5 more requests after the last switch") { load.counts.succeeded >= last + 5 }
        let result = try await load.stop()
        #expect(result.failures.isEmpty, "failed: \(result.failures.prefix(5))")
        #expect(result.succeeded >= 35)
    }

    @Test func aFullQueueAnswers503WithRetryAfter() async throws {
        let server = try PulseServer(arguments: ["-w", "1", "--thread-workers", "1", "--max-queue", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        // Long enough for two heartbeats to show the pool busy and then the queue full.
        async let first = onThread { try HTTPProbe.get(port: port, "/sleep?ms=10000", timeout: 40) }
        try await server.waitFor("one request running") { $0.services[0].workers[0].threads?.busy == 1 }
        async let second = onThread { try HTTPProbe.get(port: port, "/sleep?ms=10") }
        try await server.waitFor("one request queued") { $0.services[0].workers[0].queue == 1 }
        let third = try await onThread { try HTTPProbe.get(port: port, "/sleep?ms=10") }
        #expect(third.status == 503)
        #expect(third.headers["retry-after"] == "1")
        #expect(try await first.status == 200)
        #expect(try await second.status == 200)
        try await server.waitFor("the 503 counted as a 5xx") { $0.services[0].workers[0].statusClasses[4] == 1 }
    }

    @Test func theSeedsCommandsWorkAsWritten() async throws {
        let threads = try PulseServer(binary: "pulse", arguments: ["-w", "4", "--thread-workers", "20"])
        defer { threads.shutdown() }
        let greenDefault = try PulseServer(binary: "pulse", arguments: ["-w", "1", "--greenlet"])
        defer { greenDefault.shutdown() }
        let green = try PulseServer(binary: "pulse", arguments: ["-w", "4", "--greenlet", "200"])
        defer { green.shutdown() }

        let t = try await threads.waitFor("4 workers with 20 threads each") { status in
            status.services[0].workers.count == 4 && status.services[0].workers.allSatisfy { $0.threads?.size == 20 && $0.mode == "thread" }
        }
        #expect(t.services[0].mode == .thread)
        try await greenDefault.waitFor("a cooperative worker with a pool of 100") { status in
            status.services[0].mode == .cooperative && status.services[0].workers.first?.green?.size == 100
                && status.services[0].workers.first?.mode == "cooperative"
        }
        try await green.waitFor("4 cooperative workers with a pool of 200") { status in
            status.services[0].workers.count == 4 && status.services[0].workers.allSatisfy { $0.green?.size == 200 && $0.mode == "cooperative" }
        }
        let reply = try await onThread { [port = try green.port()] in try HTTPProbe.get(port: port, "/sleep?ms=10") }
        #expect(reply.body == "slept 10 ms in cooperative mode\n")
    }

    @Test func latencyPercentilesReachTheStatus() async throws {
        let server = try PulseServer(arguments: ["-w", "1", "--mode", "cooperative"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        // Each heartbeat reports the interval before it; keep traffic going until one
        // that saw these requests is read, however busy the machine.
        let load = RequestLoop(port: port, path: "/sleep?ms=200", threads: 3)
        let status = try await server.waitFor("latency of the 200 ms requests") { status in
            (status.services[0].workers[0].latencyMs?.p99 ?? 0) >= 200
        }
        let result = try await load.stop()
        #expect(result.failures.isEmpty)
        let latency = try #require(status.services[0].workers[0].latencyMs)
        // No upper bound on p50: a stalled machine may hold a 200 ms sleep for seconds.
        #expect(latency.p50 >= 200 && latency.p99 >= latency.p50 && latency.max >= latency.p99, "\(latency)")
        #expect(status.services[0].workers[0].mode == "cooperative")
    }

    @Test func aModeSwitchReachesWorkersSpawnedLater() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        #expect(try server.request(.mode(.cooperative, service: nil)).ok)
        #expect(try server.request(.reload(service: nil)).ok)
        #expect(try server.request(.scale(.by(1), service: nil)).ok)
        try await server.waitFor("two new cooperative workers") { status in
            status.services[0].workers.count == 2 && status.services[0].workers.allSatisfy { $0.state == .ready && $0.mode == "cooperative" }
        }
        // A bad argument on the wire is refused by the server, in the words `pulse ctl` uses.
        let bad = try ControlClient(path: server.control).send(line: Array("{\"command\": \"mode\", \"argument\": \"turbo\"}\n".utf8))
        #expect(!bad.ok && bad.message?.contains("thread or cooperative") == true)
    }
}
