import Foundation
import Glibc
import PulseControl
import TestSupport
import Testing

/// `--metrics`: the exposition read by Prometheus's own Python parser, and the
/// health checks, against the real binary.
@Suite(.blockingAllowed) struct MetricsTests {
    /// Debian's python3 (with python3-prometheus-client), not whichever is first on PATH.
    static let python = FileManager.default.fileExists(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
    static let parserAvailable = (try? runCapturing([python, "-c", "import prometheus_client"]).status) == 0

    /// Every sample the parser reads: name, labels, value.
    struct Sample: Decodable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    static func parse(_ text: String) throws -> [Sample] {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = directory + "/metrics.txt"
        try text.write(toFile: input, atomically: true, encoding: .utf8)
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = []
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                for s in family.samples:
                    out.append({"name": s.name, "labels": s.labels, "value": s.value})
            print(json.dumps(out))
            """
        let result = try runCapturing([python, "-c", script, input])
        guard result.status == 0 else { throw HTTPProbe.Failure(description: "the parser refused the exposition: \(result.output)") }
        return try JSONDecoder().decode([Sample].self, from: Data(result.output.utf8))
    }

    func metricsPort(_ server: PulseServer) throws -> Int {
        let url = try #require(try server.status().arbiter.metrics)
        return try #require(Int(url.split(separator: ":").last ?? ""))
    }

    @Test(.enabled(if: MetricsTests.parserAvailable, "python3-prometheus-client is missing: scripts/test installs it"))
    func theExpositionParsesAndMovesWithTheLoad() async throws {
        let server = try PulseServer(arguments: ["-w", "2", "--metrics", "127.0.0.1:0"])
        defer { server.shutdown() }
        try await server.waitForReady(2)
        let (port, metrics) = (try server.port(), try metricsPort(server))

        let before = try Self.parse(try HTTPProbe.get(port: metrics, "/metrics").body)
        func total(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double {
            samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
                .map(\.value).reduce(0, +)
        }
        #expect(total(before, "pulse_service_workers_target", ["service": "web"]) == 2)
        #expect(total(before, "pulse_service_workers", ["service": "web", "state": "ready"]) == 2)
        #expect(total(before, "pulse_service_state", ["service": "ds", "state": "running"]) == 1)

        for _ in 0..<20 { #expect(try HTTPProbe.get(port: port, "/hello").status == 200) }
        for _ in 0..<3 { #expect(try HTTPProbe.get(port: port, "/no-such-page").status == 404) }
        // Heartbeats come once a second: wait for every request to be reported.
        var after: [Sample] = []
        try await eventually(timeout: 30, "23 requests in /metrics") {
            after = try Self.parse(try HTTPProbe.get(port: metrics, "/metrics").body)
            return total(after, "pulse_worker_requests_total", ["service": "web"]) - total(before, "pulse_worker_requests_total", ["service": "web"]) >= 23
        }
        #expect(total(after, "pulse_worker_requests_total", ["code": "2xx"]) - total(before, "pulse_worker_requests_total", ["code": "2xx"]) == 20)
        #expect(total(after, "pulse_worker_requests_total", ["code": "4xx"]) - total(before, "pulse_worker_requests_total", ["code": "4xx"]) == 3)
        // The histogram's count is the requests answered; its +Inf bucket the same.
        #expect(total(after, "pulse_worker_request_duration_seconds_count", ["service": "web"])
                == total(after, "pulse_worker_requests_total", ["service": "web"]))
        #expect(total(after, "pulse_worker_request_duration_seconds_bucket", ["service": "web", "le": "+Inf"])
                == total(after, "pulse_worker_request_duration_seconds_count", ["service": "web"]))
        #expect(total(after, "pulse_worker_request_duration_seconds_sum", ["service": "web"]) > 0)
        let workers = Set(after.filter { $0.name == "pulse_worker_resident_memory_bytes" && $0.labels["service"] == "web" }.compactMap { $0.labels["worker"] })
        #expect(workers == ["web.1", "web.2"])
        #expect(after.filter { $0.name == "pulse_worker_resident_memory_bytes" }.allSatisfy { $0.value > 1_000_000 })
        #expect(total(after, "pulse_worker_threads", ["worker": "web.1"]) == 10)

        // A reload and a killed worker show in the arbiter's counters.
        #expect(try server.request(.reload(service: "web")).ok)
        try await server.waitFor("the reload to finish") { status in
            status.services[0].workers.count == 2 && status.services[0].workers.allSatisfy { $0.state == .ready }
                && (status.services[0].exits?["reload"] ?? 0) == 2
        }
        let reloaded = try Self.parse(try HTTPProbe.get(port: metrics, "/metrics").body)
        #expect(total(reloaded, "pulse_service_reloads_total", ["service": "web"]) == 1)
        #expect(total(reloaded, "pulse_service_worker_exits_total", ["service": "web", "kind": "reload"]) == 2)
    }

    @Test func healthAndReadinessFollowTheServices() async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let flag = directory + "/fail-boot"
        let server = try PulseServer(arguments: ["-w", "1", "--metrics", "127.0.0.1:0", "--graceful-timeout", "20"],
                                     environment: ["PULSE_TEST_FAIL_BOOT_FILE": flag])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let (port, metrics) = (try server.port(), try metricsPort(server))
        #expect(try HTTPProbe.get(port: metrics, "/healthz").status == 200)
        // Ready once the data store's worker is too.
        try await eventually(timeout: 20, "/readyz 200") {
            let ready = try HTTPProbe.get(port: metrics, "/readyz")
            return ready.status == 200 && ready.body.contains("\"ready\":true")
        }

        // Workers that fail to boot: errored, not ready, and the reason says so.
        _ = FileManager.default.createFile(atPath: flag, contents: nil)
        #expect(try server.request(.restart(service: "web")).ok)
        try await server.waitFor("the service to be errored", timeout: 40) { $0.services[0].state == .errored }
        let errored = try HTTPProbe.get(port: metrics, "/readyz")
        #expect(errored.status == 503 && errored.body.contains("service web is errored"), "\(errored.body)")
        #expect(try HTTPProbe.get(port: metrics, "/healthz").status == 200)
        unlink(flag)
        #expect(try server.request(.restart(service: "web")).ok)
        try await server.waitForReady(1, timeout: 30)
        try await eventually(timeout: 30, "ready again") { try HTTPProbe.get(port: metrics, "/readyz").status == 200 }

        // While the arbiter drains (a slow request holds it), it is alive and not ready.
        let slow = try HTTPProbe.connect(port: port, timeout: 5)
        defer { close(slow) }
        try HTTPProbe.sendAll(slow, Array("GET /sleep?ms=15000 HTTP/1.1\r\nHost: x\r\n\r\n".utf8))   // killed at the end
        try await eventually(timeout: 30, "the slow request in flight") { try server.status().services[0].workers.first?.inflight == 1 }
        server.signal(SIGTERM)
        try await eventually(timeout: 30, "503 while draining") {
            let answer = try HTTPProbe.get(port: metrics, "/readyz")
            return answer.status == 503 && answer.body.contains("shutting down")
        }
        #expect(try HTTPProbe.get(port: metrics, "/healthz").status == 200)
    }

    @Test func oddRequestsGetTheirStatusAndTheEndpointLivesOn() async throws {
        let server = try PulseServer(arguments: ["-w", "1", "--metrics", "127.0.0.1:0"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let metrics = try metricsPort(server)
        let cases: [(String, String)] = [
            ("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405"),
            ("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404"),
            ("GARBAGE\r\n\r\n", "HTTP/1.1 400"),
            ("GET metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 400"),
            ("GET /metrics HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000) + "\r\n\r\n", "HTTP/1.1 431"),
        ]
        for (request, expected) in cases {
            let answer = try HTTPProbe.exchange(port: metrics, request, timeout: 5)
            #expect(answer.hasPrefix(expected), "\(request.prefix(40)) -> \(answer.prefix(60))")
        }
        let head = try HTTPProbe.exchange(port: metrics, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", timeout: 5)
        #expect(head.hasPrefix("HTTP/1.1 200") && head.hasSuffix("\r\n\r\n"), "HEAD has no body")
        #expect(try HTTPProbe.get(port: metrics, "/metrics?x=1").body.contains("# TYPE pulse_worker_requests_total counter"))
        #expect(server.process.isRunning)
    }
}
