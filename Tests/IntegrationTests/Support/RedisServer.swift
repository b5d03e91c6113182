import Foundation
import Glibc
import TestSupport

/// A real redis-server on a free port, for tests that compare against Redis.
final class RedisServer: @unchecked Sendable {
    static let path = "/usr/bin/redis-server"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }
    let port: Int
    private let extra: [String]
    private var process: ChildProcess

    private init(port: Int, extra: [String]) throws {
        self.port = port
        self.extra = extra
        process = try Self.spawn(port: port, extra: extra)
    }

    private static func spawn(port: Int, extra: [String]) throws -> ChildProcess {
        try ChildProcess([Self.path, "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--daemonize", "no"] + extra)
    }

    /// Kills it, as a crash or a failover would.
    func stop() {
        process.signal(SIGKILL)
        _ = process.exitCode(blocking: true)
    }

    /// Starts a new, empty one on the same port and waits until it answers.
    func start() async throws {
        process = try Self.spawn(port: port, extra: extra)
        let port = self.port
        try await eventually(timeout: 10, "redis-server back on \(port)") {
            (try? HTTPProbe.exchange(port: port, "PING\r\nQUIT\r\n", timeout: 2))?.hasPrefix("+PONG") == true
        }
    }

    /// Starts one and waits until it answers. A port taken between choosing it and
    /// binding it (an arbiter bound to port 0 may get it) makes it exit: try another.
    static func start(_ extra: [String] = []) async throws -> RedisServer {
        for _ in 0..<5 {
            let server = try RedisServer(port: try freePort(), extra: extra)
            let port = server.port
            do {
                try await eventually(timeout: 10, "redis-server on \(port)") {
                    if !server.process.isRunning { throw SupportError("redis-server exited") }
                    let reply = try? HTTPProbe.exchange(port: port, "PING\r\nQUIT\r\n", timeout: 2)
                    return reply?.hasPrefix("+PONG") == true || reply?.hasPrefix("-NOAUTH") == true
                }
                return server
            } catch where !server.process.isRunning {
                continue
            }
        }
        throw SupportError("redis-server would not start")
    }

    deinit { process.signal(SIGKILL) }
}

