import Foundation
import Glibc
import TestSupport

/// A real redis-server on a free port, for tests that compare against Redis.
final class RedisServer: @unchecked Sendable {
    static let path = "/usr/bin/redis-server"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }
    let port: Int
    private let process: ChildProcess

    init() throws {
        port = try freePort()
        process = try ChildProcess([Self.path, "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                    "--daemonize", "no"])
    }

    func waitUntilReady() async throws {
        let port = self.port
        try await eventually(timeout: 10, "redis-server on \(port)") {
            (try? HTTPProbe.exchange(port: port, "PING\r\nQUIT\r\n", timeout: 2))?.hasPrefix("+PONG") == true
        }
    }

    deinit { process.signal(SIGKILL) }
}

