import Arbiter
import PulseControl
import Foundation
import Glibc

/// A real `pulse` arbiter started for one test: its own directory, control socket
/// and OS-chosen port. `shutdown()` (or deinit) kills whatever it left running.
final class PulseServer: @unchecked Sendable {
    let directory: String
    let control: String
    let logPath: String
    let process: ChildProcess
    private let lock = NSLock()
    private var seenPIDs: Set<Int32> = []

    /// The directory holding the built executables, next to the test bundle.
    static let binaries: String = {
        if let path = ProcessInfo.processInfo.environment["PULSE_BIN_DIR"] { return path }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = (exe as NSString).deletingLastPathComponent
        if directory.hasSuffix(".xctest") || directory.contains(".xctest/") {
            while !directory.hasSuffix(".xctest") { directory = (directory as NSString).deletingLastPathComponent }
            directory = (directory as NSString).deletingLastPathComponent
        }
        return directory
    }()

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "pulse-test-" + UUID().uuidString.prefix(8)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Starts `binary` (the test app by default) headless on 127.0.0.1:0.
    /// The embedded data store listens on a port the OS picks, unless the arguments say otherwise.
    ///
    /// With a `runtimeDirectory`, the arbiter chooses its own control socket and data
    /// store address, as for a user who passes neither: `XDG_RUNTIME_DIR` is that
    /// directory, so several such servers in one test find each other and no others.
    init(binary: String = "PulseTestApp", arguments: [String] = [], environment: [String: String] = [:],
         bind: Bool = true, runtimeDirectory: String? = nil) throws {
        directory = Self.temporaryDirectory()
        logPath = directory + "/pulse.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "PULSE_WORKER")
        for (key, value) in environment { env[key] = value }
        let chosen = directory + "/control.sock"
        if let runtimeDirectory { env["XDG_RUNTIME_DIR"] = runtimeDirectory }
        let store = (arguments.contains("--data-store") || runtimeDirectory != nil ? [] : ["--data-store", "pulsar://127.0.0.1:0/0"])
            + (arguments.contains("--ds-file") ? [] : ["--ds-file", directory + "/ds.snapshot"])
        let argv = [Self.binaries + "/" + binary] + (bind ? ["-b", "127.0.0.1:0"] : [])
            + (runtimeDirectory == nil ? ["--control", chosen] : []) + ["--no-dashboard"] + store + arguments
        let spawned = try ChildProcess(argv, environment: env, output: logPath)
        process = spawned
        control = runtimeDirectory.map { "\($0)/pulse/pulse-\(spawned.pid).sock" } ?? chosen
    }

    deinit { shutdown() }

    var pid: Int32 { process.pid }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func request(_ request: ControlCommand) throws -> ControlResponse {
        let response = try ControlClient(path: control, timeout: 10).send(request)
        if let status = response.status { remember(status) }
        return response
    }

    func status() throws -> StatusSnapshot {
        guard let status = try request(.status).status else {
            throw HTTPProbe.Failure(description: "status without a snapshot")
        }
        return status
    }

    private func remember(_ status: StatusSnapshot) {
        lock.withLock { for service in status.services { for worker in service.workers where worker.pid > 0 { seenPIDs.insert(worker.pid) } } }
    }

    var seenWorkerPIDs: Set<Int32> { lock.withLock { seenPIDs } }

    /// Waits until the status satisfies `condition`; returns that status.
    @discardableResult
    func waitFor(_ what: String, timeout: Double = 20, _ condition: @escaping (StatusSnapshot) -> Bool) async throws -> StatusSnapshot {
        var matched: StatusSnapshot?
        do {
            try await eventually(timeout: timeout, what) {
                let status = try self.status()
                if condition(status) { matched = status }
                return matched != nil
            }
        } catch {
            throw HTTPProbe.Failure(description: "\(error)\n--- arbiter log ---\n\(log.suffix(4000))")
        }
        return matched!
    }

    /// Waits until service `service` has `count` ready workers and nothing else.
    @discardableResult
    func waitForReady(_ count: Int, service: String = "web", timeout: Double = 20) async throws -> StatusSnapshot {
        try await waitFor("\(count) ready workers in \(service)", timeout: timeout) { status in
            guard let workers = status.services.first(where: { $0.name == service })?.workers else { return false }
            return workers.count == count && workers.allSatisfy { $0.state == .ready }
        }
    }

    func port(service: String = "web") throws -> Int {
        let bind = try status().services.first { $0.name == service }!.binds[0]
        return Int(bind.split(separator: ":").last!)!
    }

    func workerPIDs(service: String = "web") throws -> [Int32] {
        try status().services.first { $0.name == service }!.workers.map(\.pid)
    }

    func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for the arbiter to exit; returns its exit status, or nil if it did not.
    func waitForExit(timeout: Double) async throws -> Int32? {
        let process = self.process
        do {
            try await eventually(timeout: timeout, "the arbiter to exit") { !process.isRunning }
        } catch {
            return nil
        }
        return process.exitCode(blocking: false)
    }

    /// Kills the arbiter and any worker it left behind, and removes the directory.
    func shutdown() {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.exitCode(blocking: true)
        }
        for pid in seenWorkerPIDs where isRunning(pid) && (commandLine(of: pid)?.hasPrefix("pulse: worker") ?? false) {
            kill(pid, SIGKILL)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs an executable of this package to completion and returns its exit status and output.
func runCommand(_ binary: String, _ arguments: [String], environment extra: [String: String] = [:],
                timeout: Double = 30) async throws -> (status: Int32, output: String) {
    try await onThread {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "PULSE_WORKER")
        for (key, value) in extra { environment[key] = value }
        return try runCapturing([PulseServer.binaries + "/" + binary] + arguments, environment: environment)
    }
}
