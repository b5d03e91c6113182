import Arbiter
import PulseControl
import Foundation
import Glibc
import Testing

/// The real `pulse` binary and the test app, serving over real sockets.
@Suite(.blockingAllowed) struct ServingTests {
    @Test func pulseServesHelloWithTwoTitledWorkers() async throws {
        let server = try PulseServer(binary: "pulse")
        defer { server.shutdown() }
        let status = try await server.waitForReady(2)
        let workers = status.services[0].workers
        #expect(Set(workers.map(\.pid)).count == 2)
        #expect(status.arbiter.pid == server.pid)
        #expect(commandLine(of: server.pid) == "pulse: arbiter")
        for worker in workers {
            #expect(commandLine(of: worker.pid) == "pulse: worker \(worker.name)")
        }
        let port = try server.port()
        let hello = try await onThread { try HTTPProbe.get(port: port, "/hello") }
        #expect(hello.status == 200)
        #expect(hello.body == "Hello World!\n")
        #expect(hello.headers["server"] == "pulse")
        #expect(hello.headers["date"] != nil)
        let index = try await onThread { try HTTPProbe.get(port: port, "/endpoints") }
        #expect(index.status == 200 && index.body.contains("/hello"))
        let missing = try await onThread { try HTTPProbe.get(port: port, "/nothing-here") }
        #expect(missing.status == 404)
        // The worker's own numbers reach the arbiter with the next heartbeat.
        try await server.waitFor("3 requests counted") { status in
            status.services[0].workers.map(\.requests).reduce(0, +) == 3
        }
    }

    @Test func malformedRequestsGet400AndTheWorkerLivesOn() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        let before = try await server.waitForReady(1).services[0].workers[0].pid
        let port = try server.port()
        let garbage = try await onThread { try HTTPProbe.exchange(port: port, "GARBAGE\r\n\r\n") }
        #expect(garbage.hasPrefix("HTTP/1.1 400"))
        let failing = try await onThread { try HTTPProbe.get(port: port, "/fail") }
        #expect(failing.status == 500)
        let wrongMethod = try await onThread {
            try HTTPProbe.parse(HTTPProbe.exchange(port: port, "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
        }
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.headers["allow"] == "GET")
        let hello = try await onThread { try HTTPProbe.get(port: port, "/hello") }
        #expect(hello.status == 200)
        #expect(try server.workerPIDs() == [before])
        #expect(server.log.contains("/fail failed"))
    }

    @Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        let reply = try await onThread {
            try HTTPProbe.exchange(port: port, "GET /sleep?ms=200 HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        }
        let slept = try #require(reply.range(of: "slept 200 ms"))
        let hello = try #require(reply.range(of: "Hello World!"))
        #expect(slept.lowerBound < hello.lowerBound)
    }

    @Test func severalServicesUnderOneArbiter() async throws {
        let server = try PulseServer(environment: ["PULSE_TEST_SECOND_SERVICE_BIND": "127.0.0.1:0"])
        defer { server.shutdown() }
        let status = try await server.waitFor("web with 2 and api with 1 ready workers") { status in
            status.services.map(\.name) == ["web", "api", "ds"]
                && status.services[0].workers.filter { $0.state == .ready }.count == 2
                && status.services[1].workers.filter { $0.state == .ready }.count == 1
        }
        #expect(status.services[1].workers[0].name == "api.1")
        let webPort = try server.port(service: "web")
        let apiPort = try server.port(service: "api")
        #expect(webPort != apiPort)
        let api = try await onThread { try HTTPProbe.get(port: apiPort, "/hello") }
        #expect(api.body == "Hello from api!\n")
        let web = try await onThread { try HTTPProbe.get(port: webPort, "/hello") }
        #expect(web.body == "Hello World!\n")
        // Commands that need one service say so when there are several.
        let ambiguous = try server.request(.scale(.by(1), service: nil))
        #expect(!ambiguous.ok && ambiguous.message?.contains("name one") == true)
        let scaled = try server.request(.scale(.by(1), service: "api"))
        #expect(scaled.ok)
        try await server.waitForReady(2, service: "api")
    }

    @Test func logsAreTaggedAndWrittenToTheLogFile() async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logFile = directory + "/merged.log"
        let server = try PulseServer(arguments: ["-w", "1", "--log-file", logFile])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        _ = try await onThread { try HTTPProbe.get(port: port, "/fail") }
        try await eventually(timeout: 30, "the worker's error in the log file") {
            let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            return text.contains("[web.1] GET /fail failed") && text.contains("[arbiter] worker web.1")
        }
        let line = try #require(try String(contentsOfFile: logFile, encoding: .utf8)
            .split(separator: "\n").first { $0.contains("GET /fail failed") })
        #expect(line.contains(" error "))
        #expect(server.log.contains("[web.1] GET /fail failed"))
    }
}
