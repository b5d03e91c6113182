import Foundation
import Glibc
import TestSupport

/// A real redis-server on a free port, for tests that compare against Redis.
final class RedisServer: @unchecked Sendable {
    static let path = "/usr/bin/redis-server"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }
    let port: Int
    private let process = Process()

    init() throws {
        port = try freePort()
        process.executableURL = URL(fileURLWithPath: Self.path)
        process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    func waitUntilReady() async throws {
        let port = self.port
        try await eventually(timeout: 10, "redis-server on \(port)") {
            (try? HTTPProbe.exchange(port: port, "PING\r\nQUIT\r\n", timeout: 2))?.hasPrefix("+PONG") == true
        }
    }

    deinit { kill(process.processIdentifier, SIGKILL) }
}

