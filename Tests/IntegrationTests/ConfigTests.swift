import Foundation
import Glibc
import PulseControl
import TestSupport
import Testing

/// `--config` and `PULSE_*` against the real binary, and SIGHUP reading them again.
@Suite(.blockingAllowed) struct ConfigTests {
    @Test func theCommandLineWinsThenTheEnvironmentThenTheFile() async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/pulse.yaml"
        try "workers: 3\nmax-queue: 7\ntimeout: 12\n".write(toFile: path, atomically: true, encoding: .utf8)
        let fromFile = try PulseServer(arguments: ["--config", path])
        defer { fromFile.shutdown() }
        try await fromFile.waitForReady(3)
        let fromEnvironment = try PulseServer(arguments: ["--config", path], environment: ["PULSE_WORKERS": "2"])
        defer { fromEnvironment.shutdown() }
        try await fromEnvironment.waitForReady(2)
        let fromCommandLine = try PulseServer(arguments: ["--config", path, "-w", "1"], environment: ["PULSE_WORKERS": "2"])
        defer { fromCommandLine.shutdown() }
        try await fromCommandLine.waitForReady(1)
    }

    @Test func aBadValueNamesTheFileOrVariableAndTheKey() async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/pulse.yaml"
        try "workers: 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        let file = try await runCommand("PulseTestApp", ["--config", path, "--no-dashboard"])
        #expect(file.status == 64 && file.output.contains("\(path): key 'workers': --workers must be at least 1 (got 0)"), "\(file.output)")
        let variable = try await runCommand("PulseTestApp", ["--no-dashboard"], environment: ["PULSE_MAX_BODY": "huge"])
        #expect(variable.status == 64 && variable.output.contains("environment variable PULSE_MAX_BODY: --max-body must be a byte count"),
                "\(variable.output)")
    }

    @Test func sighupReadsTheFileAgain() async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/pulse.yaml"
        try "workers: 1\nmode: thread\n".write(toFile: path, atomically: true, encoding: .utf8)
        let server = try PulseServer(arguments: ["--config", path])
        defer { server.shutdown() }
        try await server.waitForReady(1)

        try "workers: 2\nmode: cooperative\nbind: [\"127.0.0.1:1\"]\n".write(toFile: path, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        let status = try await server.waitFor("2 cooperative workers") { status in
            let workers = status.services[0].workers
            return workers.count == 2 && workers.allSatisfy { $0.state == .ready && $0.mode == "cooperative" }
        }
        #expect(status.services[0].mode == .cooperative)
        #expect(server.log.contains("SIGHUP: configuration read again: service web: 2 workers (was 1); execution mode cooperative"),
                "\(server.log.suffix(1500))")
        // The command line's -b still wins, so the file's bind is not even a change.
        #expect(!server.log.contains("addresses change with a restart"))

        // A file that does not read keeps the running configuration.
        try "workers: nope\n".write(toFile: path, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        try await eventually(timeout: 30, "the refusal in the log") { server.log.contains("SIGHUP: the configuration does not read") }
        #expect(try server.status().services[0].targetWorkers == 2)
    }
}
