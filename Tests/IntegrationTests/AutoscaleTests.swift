import Arbiter
import PulseControl
import Foundation
import Glibc
import Testing

/// Autoscaling with the real arbiter: a saturating load adds a worker, its end
/// removes it, and the operator turns it on and off.
@Suite(.blockingAllowed) struct AutoscaleTests {
    /// One worker of two threads, six clients asking for 400 ms sleeps: the pool is
    /// full and four requests wait, so after three seconds a second worker comes;
    /// ten idle seconds after the load stops, it is drained.
    @Test func aSaturatingLoadAddsAWorkerAndItsEndRemovesIt() async throws {
        let server = try PulseServer(binary: "pulse", arguments: ["-w", "1", "--autoscale", "1:2", "--thread-workers", "2"])
        defer { server.shutdown() }
        let started = try await server.waitForReady(1)
        #expect(started.services[0].autoscale == AutoscaleStatus(min: 1, max: 2))

        let load = RequestLoop(port: try server.port(), path: "/sleep?ms=400", threads: 6)
        let scaledUp: StatusSnapshot
        do {
            scaledUp = try await server.waitFor("a second ready worker", timeout: 30) { status in
                let web = status.services[0]
                return web.targetWorkers == 2 && web.workers.filter { $0.state == .ready }.count == 2
            }
        } catch {
            _ = try? await load.stop()
            throw error
        }
        let result = try await load.stop()
        #expect(result.failures.isEmpty, "failed requests: \(result.failures.prefix(5))")

        let decision = try #require(scaledUp.services[0].autoscale?.lastDecision)
        #expect(decision.hasPrefix("1 -> 2 workers: pool 2/2 busy, queue "), "\(decision)")
        // Held for 3 s, or a little more when the arbiter was not scheduled on time.
        #expect((3...10).contains(Self.held(decision) ?? 0), "\(decision)")
        #expect(server.log.contains("autoscale web: 1 -> 2 workers: pool 2/2 busy, queue "), "\(server.log.suffix(3000))")

        // Idle now: ten low seconds, and one worker is drained.
        let scaledDown = try await server.waitForReady(1, timeout: 25)
        #expect(scaledDown.services[0].targetWorkers == 1)
        #expect(scaledDown.services[0].recentExits.contains { $0.reason == "drained (scale-down)" })
        let down = server.log.components(separatedBy: "\n").first { $0.contains("autoscale web: 2 -> 1 workers: pool 0/4 busy, queue 0, for ") }
        #expect((10...20).contains(down.flatMap(Self.held) ?? 0), "\(server.log.suffix(3000))")

        let json = try await runCommand("pulse", ["ctl", "--control", server.control, "status", "--json"])
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        let services = try #require(object?["services"] as? [[String: Any]], "\(json.output)")
        let autoscale = try #require(services.first { $0["name"] as? String == "web" }?["autoscale"] as? [String: Any])
        #expect(autoscale["min"] as? Int == 1 && autoscale["max"] as? Int == 2)
        let last = autoscale["last_decision"] as? String ?? ""
        #expect(last.hasPrefix("2 -> 1 workers: pool 0/4 busy, queue 0, for ") && (10...20).contains(Self.held(last) ?? 0), "\(last)")
        #expect(autoscale["last_decision_age_s"] is Double)
    }

    @Test func ctlTurnsItOnAndOffAndAManualScaleStaysWithinItsBounds() async throws {
        let server = try PulseServer(arguments: ["-w", "2"])
        defer { server.shutdown() }
        try await server.waitForReady(2)
        #expect(try server.status().services[0].autoscale == nil)

        let on = try await runCommand("pulse", ["ctl", "--control", server.control, "autoscale", "1:3"])
        #expect(on.status == 0 && on.output.contains("service web: autoscale 1-3, 2 workers"), "\(on.output)")
        #expect(try server.status().services[0].autoscale == AutoscaleStatus(min: 1, max: 3))
        let plain = try await runCommand("pulse", ["ctl", "--control", server.control, "status"])
        #expect(plain.output.contains("2/2 workers  autoscale 1-3"), "\(plain.output)")

        let manual = try await runCommand("pulse", ["ctl", "--control", server.control, "workers", "5"])
        #expect(manual.status == 0 && manual.output.contains("3 workers (was 2) (autoscale keeps it within 1-3)"), "\(manual.output)")
        try await server.waitForReady(3)

        let off = try await runCommand("pulse", ["ctl", "--control", server.control, "autoscale", "off", "--service", "web"])
        #expect(off.status == 0 && off.output.contains("service web: autoscale off, 3 workers"), "\(off.output)")
        #expect(try server.status().services[0].autoscale == nil)
        #expect(server.log.contains("pulse ctl: autoscale 1:3: service web: autoscale 1-3"))

        let bad = try await runCommand("pulse", ["ctl", "--control", server.control, "autoscale", "3:1"])
        #expect(bad.status != 0 && bad.output.contains("autoscale needs MIN:MAX"), "\(bad.output)")
        let tooMany = try server.request(.autoscale(AutoscaleBounds(min: 1, max: Monitor.maximumTarget + 1), service: "web"))
        #expect(!tooMany.ok && tooMany.message?.contains("at most \(Monitor.maximumTarget) workers") == true)
        let store = try server.request(.autoscale(AutoscaleBounds(min: 1, max: 2), service: "ds"))
        #expect(!store.ok && store.message?.contains("not scaled") == true)
    }

    @Test func theConfigFileSetsItAndSIGHUPChangesIt() async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/pulse.yaml"
        try "workers: 5\nautoscale: 1:2\n".write(toFile: path, atomically: true, encoding: .utf8)
        let server = try PulseServer(arguments: ["--config", path])
        defer { server.shutdown() }
        // Five asked for, two at most: the start is moved into the bounds.
        let started = try await server.waitForReady(2)
        #expect(started.services[0].autoscale == AutoscaleStatus(min: 1, max: 2))

        try "workers: 5\nautoscale: 3:4\n".write(toFile: path, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        try await server.waitFor("the new bounds") { $0.services[0].autoscale?.min == 3 && $0.services[0].targetWorkers == 4 }
        #expect(server.log.contains("SIGHUP: configuration read again: service web: autoscale 3-4, 3 workers (was 2, moved into the bounds); service web: 4 workers (was 3)"),
                "\(server.log.suffix(1500))")

        try "workers: 2\n".write(toFile: path, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        try await server.waitFor("autoscaling off") { $0.services[0].autoscale == nil && $0.services[0].targetWorkers == 2 }
        #expect(server.log.contains("service web: autoscale off, 4 workers; service web: 2 workers (was 4)"), "\(server.log.suffix(1500))")
    }

    @Test func aBadAutoscaleFlagIsRefusedByName() async throws {
        for bad in ["3:1", "0:2", "two:four"] {
            let result = try await runCommand("PulseTestApp", ["--autoscale", bad, "--no-dashboard"])
            #expect(result.status == 64 && result.output.contains("--autoscale must be MIN:MAX"), "\(bad): \(result.output)")
        }
    }

    /// The seconds a decision says its condition held: "..., for N s".
    static func held(_ decision: String) -> Int? {
        guard decision.hasSuffix(" s"), let range = decision.range(of: ", for ", options: .backwards) else { return nil }
        return Int(decision[range.upperBound...].dropLast(2))
    }
}
