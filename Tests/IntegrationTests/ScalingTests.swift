import Arbiter
import PulseControl
import Foundation
import Glibc
import Testing

/// Changing the worker count and replacing workers while clients keep asking.
@Suite(.blockingAllowed) struct ScalingTests {
    @Test func signalsAndCtlChangeTheCountNeverBelowOne() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        server.signal(SIGTTIN)
        try await server.waitForReady(2)
        server.signal(SIGTTOU)
        try await server.waitForReady(1)
        server.signal(SIGTTOU)
        try await Task.sleep(for: .milliseconds(500))
        let floor = try await server.waitForReady(1)
        #expect(floor.services[0].targetWorkers == 1)

        let up = try await runCommand("pulse", ["ctl", "--control", server.control, "scale", "+2"])
        #expect(up.status == 0 && up.output.contains("3 workers (was 1)"))
        try await server.waitForReady(3)
        let down = try await runCommand("pulse", ["ctl", "--control", server.control, "scale", "-5"])
        #expect(down.status == 0 && down.output.contains("1 workers (was 3) (never below 1)"))
        try await server.waitForReady(1)
        let set = try await runCommand("pulse", ["ctl", "--control", server.control, "workers", "2"])
        #expect(set.status == 0)
        let final = try await server.waitForReady(2)
        #expect(final.services[0].targetWorkers == 2)
        let zero = try await runCommand("pulse", ["ctl", "--control", server.control, "workers", "0"])
        #expect(zero.status != 0 && zero.output.contains("at least 1"))
    }

    @Test func reloadAndScaleDownUnderLoadFailNothing() async throws {
        let server = try PulseServer(arguments: ["-w", "2"])
        defer { server.shutdown() }
        let original = Set(try await server.waitForReady(2).services[0].workers.map(\.pid))
        let port = try server.port()
        let load = RequestLoop(port: port, path: "/sleep?ms=20", threads: 3)
        try await Task.sleep(for: .milliseconds(500))

        #expect(try server.request(.reload(service: nil)).ok)
        let reloaded = try await server.waitFor("every worker replaced", timeout: 30) { status in
            let workers = status.services[0].workers
            return workers.count == 2 && workers.allSatisfy { $0.state == .ready && !original.contains($0.pid) }
        }
        #expect(reloaded.services[0].recentExits.filter { $0.reason == "drained (reload)" }.count == 2)

        #expect(try server.request(.scale(.by(2), service: nil)).ok)
        try await server.waitForReady(4)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try server.request(.scale(.to(1), service: nil)).ok)
        let scaledDown = try await server.waitForReady(1, timeout: 30)
        #expect(scaledDown.services[0].recentExits.filter { $0.reason == "drained (scale-down)" }.count == 3)

        server.signal(SIGHUP)
        try await server.waitFor("the SIGHUP reload", timeout: 30) { status in
            status.services[0].recentExits.filter { $0.reason == "drained (reload)" }.count == 3
                && status.services[0].workers.count == 1 && status.services[0].workers[0].state == .ready
        }
        try await Task.sleep(for: .milliseconds(300))
        let result = try await load.stop()
        #expect(result.failures.isEmpty, "failed requests: \(result.failures.prefix(5))")
        #expect(result.succeeded > 50, "only \(result.succeeded) requests went through")
    }

    /// Keep-alive clients, whose next request is on the wire when a worker drains:
    /// five rolling reloads and a scale-down must fail none of them.
    @Test func keepAliveClientsLoseNothingAcrossReloadsAndAScaleDown() async throws {
        let server = try PulseServer(arguments: ["-w", "2"])
        defer { server.shutdown() }
        try await server.waitForReady(2)
        let load = RequestLoop(port: try server.port(), path: "/hello", threads: 4, keepAlive: true)
        try await Task.sleep(for: .milliseconds(300))
        for round in 1...5 {
            let before = Set(try server.status().services[0].workers.map(\.pid))
            #expect(try server.request(.reload(service: nil)).ok)
            _ = try await server.waitFor("reload \(round) done", timeout: 30) { status in
                let workers = status.services[0].workers
                return workers.count == 2 && workers.allSatisfy { $0.state == .ready && !before.contains($0.pid) }
            }
        }
        #expect(try server.request(.scale(.by(1), service: nil)).ok)
        try await server.waitForReady(3)
        #expect(try server.request(.scale(.to(1), service: nil)).ok)
        try await server.waitForReady(1, timeout: 30)
        try await Task.sleep(for: .milliseconds(300))
        let result = try await load.stop()
        #expect(result.failures.isEmpty, "failed keep-alive requests: \(result.failures.count), \(result.failures.prefix(5))")
        #expect(result.succeeded > 200, "only \(result.succeeded) requests went through")
    }
}
