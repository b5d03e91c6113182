import Foundation
import Glibc

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

/// A TCP port nobody listens on right now.
func freePort() throws -> Int {
    let (fd, port) = try boundSocket(listening: false)
    close(fd)
    return port
}

/// A socket bound to a port the OS chose on 127.0.0.1 (listening, if asked); the caller closes it.
func boundSocket(listening: Bool) throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && (!listening || listen(fd, 1) == 0) && getsockname(fd, $0, &length) == 0
        }
    }
    guard ok else {
        close(fd)
        throw HTTPProbe.Failure(description: "cannot bind a port")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}
