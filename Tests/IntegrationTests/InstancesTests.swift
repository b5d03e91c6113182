import Foundation
import PulseControl
import TestSupport
import Testing

/// Two `pulse` for two apps on one machine, started with nothing but `-b`.
@Suite(.blockingAllowed) struct InstancesTests {
    @Test func twoArbitersWithOnlyABindCoexistAndCtlFindsEach() async throws {
        let runtime = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let environment = ["XDG_RUNTIME_DIR": runtime]
        // Ports the OS picks (a free port chosen ahead could be taken by another test
        // in between); the test then reads them back.
        let a = try PulseServer(arguments: ["-w", "1", "-b", "127.0.0.1:0"], bind: false, runtimeDirectory: runtime)
        defer { a.shutdown() }
        try await a.waitForReady(1)
        let b = try PulseServer(arguments: ["-w", "1", "-b", ":0"], bind: false, runtimeDirectory: runtime)
        defer { b.shutdown() }
        try await b.waitForReady(1)
        let (portA, portB) = (try a.port(), try b.port())

        // Each has its own data store, which its workers reach, on different ports.
        let stores = try [a, b].map { try #require($0.status().services.first { $0.name == "ds" }) }
        #expect(stores[0].binds != stores[1].binds)
        for (server, store) in zip([a, b], stores) {
            #expect(store.urls.allSatisfy { $0.hasPrefix("redis://") })
            #expect(server.log.contains("service ds listening at redis://127.0.0.1:"))
            #expect(!server.log.contains("listening at http://127.0.0.1:\(store.binds[0].split(separator: ":").last!)"))
        }
        #expect([a, b].contains { $0.log.contains("127.0.0.1:6410 is taken") } || !stores.contains { $0.binds == ["127.0.0.1:6410"] },
                "one store has 6410 and the other says it moved")

        // With two running, ctl names both and asks which.
        let both = try await runCommand("pulse", ["ctl", "status"], environment: environment)
        #expect(both.status == 2)
        #expect(both.output.contains("several arbiters are running") && both.output.contains("pid \(a.pid)")
                && both.output.contains("pid \(b.pid)"), "\(both.output)")

        // -b picks one, in any of the address's spellings.
        for (bind, server) in [("127.0.0.1:\(portA)", a), (":\(portA)", a), ("\(portB)", b), ("0.0.0.0:\(portB)", b)] {
            let found = try await runCommand("pulse", ["ctl", "-b", bind, "status", "--json"], environment: environment)
            #expect(found.status == 0, "\(found.output)")
            let status = try ControlCodec.decode(StatusSnapshot.self, from: Array(found.output.utf8))
            #expect(status.arbiter.pid == server.pid, "-b \(bind)")
        }
        let nowhere = try await runCommand("pulse", ["ctl", "-b", "127.0.0.1:1", "status"], environment: environment)
        #expect(nowhere.status == 2 && nowhere.output.contains("no running arbiter listens at 127.0.0.1:1"), "\(nowhere.output)")

        // The log names who asked.
        let scaled = try await runCommand("pulse", ["ctl", "-b", "\(portA)", "scale", "+1"], environment: environment)
        #expect(scaled.status == 0, "\(scaled.output)")
        try await a.waitForReady(2)
        #expect(a.log.contains("pulse ctl: scale +1: service web: 2 workers (was 1)"), "\(a.log.suffix(2000))")

        // Once b is gone (killed: its socket file stays), ctl finds a alone.
        b.shutdown()
        let alone = try await runCommand("pulse", ["ctl", "status", "--json"], environment: environment)
        #expect(alone.status == 0, "\(alone.output)")
        #expect(try ControlCodec.decode(StatusSnapshot.self, from: Array(alone.output.utf8)).arbiter.pid == a.pid)
        #expect(!FileManager.default.fileExists(atPath: b.control), "the stale socket is removed")
    }

    @Test func withNoArbiterCtlAndTopSaySo() async throws {
        let runtime = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        for command in [["ctl", "status"], ["top"]] {
            let result = try await runCommand("pulse", command, environment: ["XDG_RUNTIME_DIR": runtime])
            #expect(result.status == 2)
            #expect(result.output.contains("no arbiter is running"), "\(result.output)")
        }
    }
}
