#if Hummingbird || Vapor
import Arbiter
import Foundation
import Glibc
import Mailbox
import PulseControl
import Testing

/// The example Hummingbird and Vapor apps under pulse, started as a user starts them:
/// their own executables, with pulse's flags. Compiled with the traits that build them
/// (`scripts/test` enables both).
@Suite(.serialized, .blockingAllowed) struct FrameworkAppTests {
    enum Example: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case hummingbird = "pulse-hummingbird-example"
        case vapor = "pulse-vapor-example"
        var testDescription: String { rawValue }
    }

    static var examples: [Example] {
        var built: [Example] = []
        #if Hummingbird
        built.append(.hummingbird)
        #endif
        #if Vapor
        built.append(.vapor)
        #endif
        return built
    }

    @Test(arguments: examples)
    func helloEchoAndWebSocketThroughTwoWorkersAreCounted(_ example: Example) async throws {
        let server = try PulseServer(binary: example.rawValue, arguments: ["-w", "2"])
        defer { server.shutdown() }
        try await server.waitForReady(2)
        let port = try server.port()
        for _ in 0..<10 {
            let hello = try HTTPProbe.get(port: port, "/hello")
            #expect(hello.status == 200 && hello.body == "Hello World!\n")
        }
        let echo = try HTTPProbe.exchange(port: port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                                                + "Content-Length: 11\r\nConnection: close\r\n\r\nhello there")
        #expect(echo.hasPrefix("HTTP/1.1 200") && echo.hasSuffix("hello there"), "\(echo)")
        let missing = try HTTPProbe.get(port: port, "/missing")
        #expect(missing.status == 404)

        var socket: WebSocketProbe? = try WebSocketProbe(port: port, path: "/ws/echo")
        try socket?.send(text: "über")
        #expect(try socket?.receiveSkippingPings() == .init(fin: true, opcode: 0x1, payload: Array("über".utf8)))
        try socket?.send(opcode: 0x2, [0, 1, 2, 255])
        #expect(try socket?.receiveSkippingPings().payload == [0, 1, 2, 255])

        let counted = try await server.waitFor("the requests and the WebSocket in the heartbeats", timeout: 30) { status in
            let workers = status.services[0].workers
            return workers.reduce(0) { $0 + $1.requests } >= 12 && workers.reduce(0) { $0 + ($1.websockets ?? 0) } == 1
        }
        // The same figures through the example's own `ctl`, as an operator reads them.
        let cli = try await runCommand(example.rawValue, ["ctl", "--control", server.control, "status", "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(cli.output.utf8)) as? [String: Any], "\(cli.output)")
        let served = ((json["services"] as? [[String: Any]])?.first?["workers"] as? [[String: Any]] ?? [])
            .reduce(0) { $0 + ($1["requests"] as? Int ?? 0) }
        #expect(cli.status == 0 && served >= 12, "\(cli.output.prefix(400))")
        // Latencies are per heartbeat interval: a request in each, until one reports them.
        let latency = try await server.waitFor("a latency summary", timeout: 30) { status in
            _ = try? HTTPProbe.get(port: port, "/hello")
            return status.services[0].workers.contains { ($0.report.latencyMs?.max ?? 0) > 0 }
        }
        #expect(latency.services[0].workers.contains { $0.report.latencyMs != nil })
        // A polite goodbye: Close 1000, answered, then the connection goes.
        try socket?.send(opcode: 0x8, [0x03, 0xE8])
        #expect(try socket?.receiveSkippingPings().closeCode == 1000)
        socket = nil
        let workers = counted.services[0].workers
        #expect(workers.reduce(0) { $0 + $1.report.statusClasses[1] } >= 11)   // 2xx
        #expect(workers.reduce(0) { $0 + $1.report.statusClasses[3] } >= 1)    // the 404
        #expect(workers.allSatisfy { $0.mode == "thread" })
        // Response bodies, each counted once: 13 bytes per /hello, 11 for the echo, under
        // 60 for the 404 (headers are not counted, and counting twice would double it).
        let requests = workers.reduce(0) { $0 + $1.requests }
        let bytesOut = workers.reduce(0) { $0 + $1.report.bytesOut }
        #expect(bytesOut >= 10 * 13 + 11 && bytesOut <= 13 * requests + 60, "\(bytesOut) bytes out for \(requests) requests")
        // Every probe has closed its connection: none is left on the books.
        try await server.waitFor("no connection left open", timeout: 30) { status in
            status.services[0].workers.allSatisfy { $0.report.connections == 0 && $0.inflight == 0 && $0.websockets == 0 }
        }
    }

    @Test(arguments: examples)
    func reloadScaleDownAndKillFailNoRequest(_ example: Example) async throws {
        let server = try PulseServer(binary: example.rawValue, arguments: ["-w", "2"])
        defer { server.shutdown() }
        let original = Set(try await server.waitForReady(2).services[0].workers.map(\.pid))
        let port = try server.port()
        let load = RequestLoop(port: port, path: "/hello", threads: 3, keepAlive: true)
        try await Task.sleep(for: .milliseconds(300))
        // A request in flight when the reload begins is finished by its draining worker.
        async let long = onThread { try HTTPProbe.get(port: port, "/block?ms=3000", timeout: 40) }
        try await server.waitFor("the long request running") { $0.services[0].workers.contains { $0.inflight > 0 } }

        #expect(try server.request(.reload(service: nil)).ok)
        try await server.waitFor("every worker replaced", timeout: 40) { status in
            let workers = status.services[0].workers
            return workers.count == 2 && workers.allSatisfy { $0.state == .ready && !original.contains($0.pid) }
        }
        #expect(try server.request(.scale(.to(1), service: nil)).ok)
        try await server.waitForReady(1, timeout: 30)
        try await Task.sleep(for: .milliseconds(300))
        let result = try await load.stop()
        #expect(result.failures.isEmpty, "failed requests: \(result.failures.prefix(5))")
        #expect(result.succeeded > 50, "only \(result.succeeded) requests went through")
        let finished = try await long
        #expect(finished.status == 200 && finished.body == "blocked 3000 ms\n", "\(finished)")

        // A worker killed outright is replaced.
        let victim = try server.workerPIDs()[0]
        kill(victim, SIGKILL)
        let replaced = try await server.waitFor("a replacement for the killed worker", timeout: 20) { status in
            let workers = status.services[0].workers
            return workers.count == 1 && workers[0].state == .ready && workers[0].pid != victim
        }
        #expect(replaced.services[0].recentExits.contains { $0.pid == victim })
        #expect(try HTTPProbe.get(port: port, "/hello").status == 200)
    }

    @Test(arguments: examples)
    func blockingHandlersFillThreadsSleepingOnesShareTheLoop(_ example: Example) async throws {
        let server = try PulseServer(binary: example.rawValue, arguments: ["-w", "1", "--thread-workers", "4"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()

        // Waves of 5 s: long enough for a heartbeat to show each on a stalled machine,
        // and for the bounds below to stay apart from the next number of waves.
        async let threadRun = concurrently(8, port: port, "/block?ms=5000", timeout: 40)
        try await server.waitFor("4 busy threads and 4 queued", timeout: 15) { status in
            let worker = status.services[0].workers[0]
            return worker.threads?.busy == 4 && worker.queue == 4 && worker.mode == "thread"
        }
        let threads = try await threadRun
        #expect(threads.statuses == Array(repeating: 200, count: 8))
        // Two waves: not one (the handlers ran elsewhere), not more (they shared fewer threads).
        #expect(threads.seconds >= 10.0 && threads.seconds < 15.0, "8 blocking requests of 5 s on 4 threads took \(threads.seconds) s")

        let switched = try await runCommand("pulse", ["ctl", "--control", server.control, "mode", "cooperative"])
        #expect(switched.status == 0)
        try await server.waitFor("the worker in cooperative mode", timeout: 20) { $0.services[0].workers[0].mode == "cooperative" }
        async let greenRun = concurrently(8, port: port, "/sleep?ms=5000", timeout: 40)
        try await server.waitFor("8 busy green tasks", timeout: 15) { status in
            let worker = status.services[0].workers[0]
            return worker.green?.busy == 8 && worker.queue == 0
        }
        let green = try await greenRun
        #expect(green.statuses == Array(repeating: 200, count: 8))
        #expect(green.seconds >= 5.0 && green.seconds < 10.0, "one wave of 5 s took \(green.seconds) s")
    }

    /// The access log and the post-mortem cover the frameworks' requests too.
    @Test(arguments: examples)
    func accessLinesAndPostMortemsCoverTheFrameworksRequests(_ example: Example) async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/access.log"
        let server = try PulseServer(binary: example.rawValue, arguments: ["-w", "1", "--access-log", path, "--access-log-format", "json"])
        defer { server.shutdown() }
        let worker = try await server.waitForReady(1).services[0].workers[0]
        let port = try server.port()
        _ = try HTTPProbe.exchange(port: port, "GET /hello HTTP/1.1\r\nHost: x\r\nUser-Agent: probe/2\r\nConnection: close\r\n\r\n")
        #expect(try HTTPProbe.get(port: port, "/missing").status == 404)
        var lines: [[String: Any]] = []
        try await eventually(timeout: 30, "two access lines") {
            lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            return lines.count == 2
        }
        #expect(lines[0]["path"] as? String == "/hello" && lines[0]["status"] as? Int == 200 && lines[0]["bytes"] as? Int == 13)
        #expect(lines[0]["user_agent"] as? String == "probe/2" && lines[0]["worker"] as? String == "web.1")
        #expect(lines[1]["path"] as? String == "/missing" && lines[1]["status"] as? Int == 404)

        // Killed in the middle of a request: the scoreboard names it.
        async let blocked = onThread { try? HTTPProbe.get(port: port, "/block?ms=20000", timeout: 40) }   // killed before its end
        try await server.waitFor("the request running") { ($0.services[0].workers.first?.inflight ?? 0) == 1 }
        kill(worker.pid, SIGKILL)
        let after = try await server.waitFor("the exit with its post-mortem") { status in
            status.services[0].recentExits.contains { $0.pid == worker.pid }
        }
        let exit = try #require(after.services[0].recentExits.first { $0.pid == worker.pid })
        #expect(exit.inflight?.first?.hasPrefix("GET /block?ms=20000 (") == true, "\(exit)")
        _ = try await blocked
    }

    /// `--timeout` holds for the frameworks: a handler that blocks the event loop in
    /// cooperative mode silences the heartbeat, and the worker is killed and replaced.
    @Test(arguments: examples)
    func aWorkerWhoseLoopIsBlockedIsKilledAfterTheTimeout(_ example: Example) async throws {
        let server = try PulseServer(binary: example.rawValue, arguments: ["-w", "1", "--mode", "cooperative", "--timeout", "3"])
        defer { server.shutdown() }
        let hung = try await server.waitForReady(1).services[0].workers[0]
        let port = try server.port()
        async let blocked = onThread { try? HTTPProbe.get(port: port, "/block?ms=60000", timeout: 50) }
        let after = try await server.waitFor("the hung worker killed and replaced", timeout: 45) { status in
            let workers = status.services[0].workers
            return workers.count == 1 && workers[0].pid != hung.pid && workers[0].state == .ready
        }
        let exit = try #require(after.services[0].recentExits.last { $0.pid == hung.pid }, "\(after.services[0].recentExits)")
        #expect(exit.reason.hasPrefix("killed after 3s without a heartbeat (timeout)"), "\(exit.reason)")
        #expect(exit.inflight?.first?.hasPrefix("GET /block?ms=60000 (") == true, "\(exit)")
        let cut = try await blocked
        #expect(cut?.status != 200, "the blocked request was answered: \(String(describing: cut))")
        #expect(try HTTPProbe.get(port: port, "/hello").status == 200)
    }

    /// In cooperative mode `--greenlet` bounds the tasks; beyond them requests wait in
    /// order, and past `--max-queue` they get 503, as in thread mode.
    @Test(arguments: examples)
    func aFullGreenPoolQueuesAndThenRefuses(_ example: Example) async throws {
        let server = try PulseServer(binary: example.rawValue, arguments: ["-w", "1", "--greenlet", "1", "--max-queue", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        async let running = onThread { try HTTPProbe.get(port: port, "/sleep?ms=10000", timeout: 40) }
        try await server.waitFor("one task running") { $0.services[0].workers[0].green?.busy == 1 }
        async let queued = onThread { try HTTPProbe.get(port: port, "/hello", timeout: 40) }
        try await server.waitFor("one request queued") { $0.services[0].workers[0].queue == 1 }
        let refused = try await onThread { try HTTPProbe.get(port: port, "/hello") }
        #expect(refused.status == 503 && refused.headers["retry-after"] == "1", "\(refused)")
        #expect(try await running.status == 200)
        #expect(try await queued.status == 200)
    }

    @Test(arguments: examples)
    func aDrainClosesWebSocketsWith1001AtTheDeadline(_ example: Example) async throws {
        let server = try PulseServer(binary: example.rawValue, arguments: ["-w", "1", "--graceful-timeout", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        let sockets = try await onThread { [try WebSocketProbe(port: port, path: "/ws/echo"), try WebSocketProbe(port: port, path: "/ws/echo")] }
        try await server.waitFor("2 websockets counted") { $0.services[0].workers[0].websockets == 2 }
        // The close comes after the new worker boots, which a loaded machine may take long over.
        for socket in sockets { socket.setReceiveTimeout(40) }
        #expect(try server.request(.reload(service: nil)).ok)
        let closes = try await onThread { try sockets.map { try $0.receiveSkippingPings().closeCode } }
        #expect(closes == [1001, 1001])
        try await server.waitFor("the new worker, with no websockets") { status in
            let workers = status.services[0].workers
            return workers.count == 1 && workers[0].state == .ready && workers[0].websockets == 0
        }
    }

    @Test(arguments: examples)
    func aFullQueueAnswers503AndMaxRequestsRecycles(_ example: Example) async throws {
        let server = try PulseServer(binary: example.rawValue,
                                     arguments: ["-w", "1", "--thread-workers", "1", "--max-queue", "1", "--max-requests", "8"])
        defer { server.shutdown() }
        let first = try await server.waitForReady(1).services[0].workers[0].pid
        let port = try server.port()
        // Long enough for two heartbeats to show it running and then the queue full, however slow the machine.
        async let running = onThread { try HTTPProbe.get(port: port, "/block?ms=10000", timeout: 40) }
        try await server.waitFor("one request running") { $0.services[0].workers[0].threads?.busy == 1 }
        async let queued = onThread { try HTTPProbe.get(port: port, "/hello") }
        try await server.waitFor("one request queued") { $0.services[0].workers[0].queue == 1 }
        let refused = try await onThread { try HTTPProbe.get(port: port, "/hello") }
        #expect(refused.status == 503)
        #expect(refused.headers["retry-after"] == "1", "\(refused.headers)")
        #expect(try await running.status == 200)
        #expect(try await queued.status == 200)

        // 3 answered so far: 5 more reach --max-requests, and the worker is replaced.
        for _ in 0..<5 { #expect(try await onThread { try HTTPProbe.get(port: port, "/hello") }.status == 200) }
        let after = try await server.waitFor("the worker recycled after 8 requests") { status in
            let workers = status.services[0].workers
            return workers.count == 1 && workers[0].pid != first && workers[0].state == .ready
        }
        #expect(after.services[0].recentExits.last?.reason == "recycled (max requests)")
    }

    @Test(.enabled(if: TmuxSession.available, "tmux is missing: scripts/test installs it"), arguments: examples)
    func theDashboardShowsTheWorkers(_ example: Example) async throws {
        let directory = PulseServer.temporaryDirectory()
        let control = directory + "/control.sock"
        let binary = PulseServer.binaries + "/" + example.rawValue
        let session = try TmuxSession(width: 160, height: 45, command:
            "\(binary) -w 2 -b 127.0.0.1:0 --control \(control) --data-store pulsar://127.0.0.1:0/0 --ds-file \(directory)/ds.snapshot")
        defer {
            let pids = (try? ControlClient(path: control).send(.status).status).map { status in
                status.services.flatMap(\.workers).map(\.pid) + [status.arbiter.pid]
            } ?? []
            session.shutdown()
            for pid in pids where isRunning(pid) { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(atPath: directory)
        }
        try await session.waitFor("the dashboard with both workers", timeout: 30) { screen in
            screen.contains("web.1") && screen.contains("web.2")
        }
        session.send("+")
        try await session.waitFor("a third worker after +", timeout: 20) { $0.contains("web.3") }
    }

    #if Vapor
    @Test func vaporStreamingRoutesErrorsAndRequestHeadersWorkUnchanged() async throws {
        let server = try PulseServer(binary: Example.vapor.rawValue, arguments: ["-w", "1", "--thread-workers", "4"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        let body = String(repeating: "x", count: 300_000)
        let upload = try HTTPProbe.exchange(port: port, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n"
                                                  + "Connection: close\r\n\r\n\(body)")
        #expect(upload.hasPrefix("HTTP/1.1 200") && upload.hasSuffix("received 300000 bytes\n"), "\(upload.prefix(300))")
        // Vapor's ErrorMiddleware answers an Abort as it always does.
        let teapot = try HTTPProbe.get(port: port, "/teapot")
        #expect(teapot.status == 418 && teapot.body.contains("short and stout"), "\(teapot)")
        // A route behind an AsyncMiddleware blocks its own pool thread: 4 of 4 s on 4 threads
        // take one wave (Swift's shared pool has 2 threads here, and would take two).
        let grouped = try await concurrently(4, port: port, "/grouped/block?ms=4000", timeout: 40)
        #expect(grouped.statuses == [200, 200, 200, 200])
        #expect(grouped.seconds >= 4.0 && grouped.seconds < 8.0, "4 blocking requests of 4 s took \(grouped.seconds) s")
        #expect(try HTTPProbe.get(port: port, "/grouped/block?ms=1").headers["x-trail"] == "grouped")
        // Request.logger writes to the worker's log, which the arbiter gathers.
        #expect(try HTTPProbe.get(port: port, "/log?word=tangerine").status == 200)
        try await eventually(timeout: 20, "the route's log line") {
            server.log.split(separator: "\n").contains { $0.contains("[web.1]") && $0.contains("logged tangerine") }
        }
        // HEAD of a GET route: the head without the body.
        let head = try HTTPProbe.exchange(port: port, "HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200") && head.hasSuffix("\r\n\r\n"), "\(head)")
    }

    /// What an odd client sends to a Vapor WebSocket route: no `Connection: Upgrade`, a
    /// request pipelined behind the handshake, a frame before the 101. The worker lives.
    @Test func oddHandshakesToAVaporWebSocketRouteAreAnsweredAndTheWorkerLives() async throws {
        let server = try PulseServer(binary: Example.vapor.rawValue, arguments: ["-w", "1"])
        defer { server.shutdown() }
        let pid = try await server.waitForReady(1).services[0].workers[0].pid
        let port = try server.port()
        let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        let notAnUpgrade = try HTTPProbe.exchange(port: port, "GET /ws/echo HTTP/1.1\r\nHost: x\r\n\(key)\r\n"
                                                        + "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(notAnUpgrade.hasPrefix("HTTP/1.1 426") && notAnUpgrade.hasSuffix("Hello World!\n"), "\(notAnUpgrade)")
        let upgrade = "GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\(key)\r\n"
        _ = try? HTTPProbe.exchange(port: port, upgrade + "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", timeout: 3)
        _ = try? HTTPProbe.exchange(port: port, upgrade + "\u{81}\u{82}abcdhi", timeout: 3)
        #expect(try HTTPProbe.get(port: port, "/hello").status == 200)
        #expect(try server.workerPIDs() == [pid])
    }

    @Test func theVaporExampleReadsAndWritesPostgreSQLThroughFluent() async throws {
        let cluster = try await onThread { try PostgresCluster.shared() }
        let server = try PulseServer(binary: Example.vapor.rawValue, arguments: ["-w", "2", "--database", cluster.url])
        defer { server.shutdown() }
        try await server.waitForReady(2, timeout: 30)
        let port = try server.port()
        let text = "note \(UUID().uuidString.prefix(8))"
        let body = "{\"text\":\"\(text)\"}"
        let created = try HTTPProbe.exchange(port: port, "POST /notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                                   + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        #expect(created.hasPrefix("HTTP/1.1 200") && created.contains(text), "\(created)")
        // Read back through every worker: the row is in the database, not in a worker.
        for _ in 0..<6 {
            let listed = try HTTPProbe.get(port: port, "/notes")
            #expect(listed.status == 200 && listed.body.contains(text), "\(listed.body)")
        }
    }
    #endif
}
#endif
