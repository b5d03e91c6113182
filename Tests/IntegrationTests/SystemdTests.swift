import Foundation
import Glibc
import PulseControl
import TestSupport
import Testing

/// Running under systemd: the notification protocol, read on a datagram socket as
/// systemd would, and socket activation through systemd's own
/// `systemd-socket-activate`.
@Suite(.blockingAllowed) struct SystemdTests {
    /// A NOTIFY_SOCKET: collects every datagram the arbiter sends.
    final class NotifySocket: @unchecked Sendable {
        let path: String
        private let fd: Int32
        private let lock = NSLock()
        private var received: [String] = []
        private var open = true

        init(directory: String) throws {
            path = directory + "/notify.sock"
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard rc == 0 else { throw HTTPProbe.Failure(description: "cannot bind \(path)") }
            var limit = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            Thread.detachNewThread { [self] in
                var buffer = [UInt8](repeating: 0, count: 4096)
                while lock.withLock({ open }) {
                    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if count > 0 { lock.withLock { received.append(String(decoding: buffer[..<count], as: UTF8.self)) } }
                }
                close(fd)
            }
        }

        var messages: [String] { lock.withLock { received } }

        func stop() { lock.withLock { open = false } }
    }

    @Test func readinessReloadStoppingStatusAndWatchdogReachSystemd() async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let notify = try NotifySocket(directory: directory)
        defer { notify.stop() }
        let server = try PulseServer(arguments: ["-w", "2", "--graceful-timeout", "5"],
                                     environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "600000"])
        defer { server.shutdown() }
        try await server.waitForReady(2)
        try await eventually(timeout: 30, "READY=1") { notify.messages.contains { $0.hasPrefix("READY=1") } }
        let ready = try #require(notify.messages.first { $0.hasPrefix("READY=1") })
        #expect(ready.contains("STATUS=web: 2/2 ready"), "\(ready)")
        // The watchdog, every 0.3 s here (half of WATCHDOG_USEC).
        try await eventually(timeout: 30, "WATCHDOG=1 twice") { notify.messages.filter { $0 == "WATCHDOG=1" }.count >= 2 }
        // Workers do not inherit the socket.
        let worker = try server.status().services[0].workers[0].pid
        let environ = (try? String(contentsOfFile: "/proc/\(worker)/environ", encoding: .utf8)) ?? ""
        #expect(!environ.contains("NOTIFY_SOCKET") && !environ.isEmpty)

        server.signal(SIGHUP)
        try await eventually(timeout: 30, "RELOADING=1 then READY=1") {
            let messages = notify.messages.filter { !$0.hasPrefix("WATCHDOG") && !$0.hasPrefix("STATUS") }
            guard let reloading = messages.firstIndex(where: { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }) else { return false }
            return messages[reloading...].contains { $0.hasPrefix("READY=1") }
        }
        server.signal(SIGTERM)
        try await eventually(timeout: 20, "STOPPING=1") { notify.messages.contains("STOPPING=1") }
        let order = notify.messages.filter { !$0.hasPrefix("WATCHDOG") && !$0.hasPrefix("STATUS") }.map { $0.split(separator: "\n")[0] }
        #expect(order == ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"], "\(order)")
        #expect(try await server.waitForExit(timeout: 20) == 0)
    }

    static let socketActivateAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate")

    @Test(.enabled(if: SystemdTests.socketActivateAvailable, "systemd-socket-activate is missing: scripts/test installs systemd"))
    func systemdSocketActivateHandsItsSocketToTheWorkers() async throws {
        let directory = PulseServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try freePort()
        let control = directory + "/control.sock"
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "PULSE_WORKER")
        let process = try ChildProcess(["/usr/bin/systemd-socket-activate", "-l", "127.0.0.1:\(port)",
                                        PulseServer.binaries + "/PulseTestApp", "-w", "2", "-b", "127.0.0.1:1",
                                        "--no-dashboard", "--control", control,
                                        "--data-store", "pulsar://127.0.0.1:0/0", "--ds-file", directory + "/ds"],
                                       environment: environment, output: directory + "/log")
        defer {
            if let pid = (try? ControlClient(path: control).send(.status))?.status?.arbiter.pid { kill(pid, SIGKILL) }
            process.signal(SIGKILL)
        }
        // The first connection makes systemd-socket-activate start pulse; it waits in
        // the socket's queue until a worker takes it.
        var reply: HTTPProbe.Reply?
        try await eventually(timeout: 30, "systemd-socket-activate to listen, and pulse to answer") {
            reply = try? HTTPProbe.get(port: port, "/hello", timeout: 30)
            return reply != nil
        }
        #expect(reply?.status == 200 && reply?.body == "Hello World!\n")
        let status = try #require(try ControlClient(path: control).send(.status).status)
        #expect(status.arbiter.pid == process.pid, "systemd-socket-activate execs pulse in its own process")
        #expect(status.services[0].binds == ["127.0.0.1:\(port)"], "the passed socket, not -b")
        let log = (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? ""
        #expect(log.contains("service web: listening on 1 socket(s) passed by systemd"))
        _ = try ControlClient(path: control).send(.stop(now: false))
        try await eventually(timeout: 20, "pulse to exit") { !process.isRunning }
        #expect(process.exitCode(blocking: false) == 0)
    }
}
