import Foundation
import Glibc

/// A blocking client of the control socket, for `pulse ctl` and for scripts and tests.
public final class ControlClient {
    private let fd: Int32
    private var pending: [UInt8] = []
    public let path: String
    /// Who the arbiter's log says sent the commands: `pulse ctl`, `dashboard`...
    public var origin: String?

    /// Connects to the arbiter listening at `path`; waits at most `timeout` seconds for each answer.
    public init(path: String, timeout: Double = 10) throws(ControlClientError) {
        self.path = path
        // Connected before `fd` is set: a throwing init whose properties are all set
        // runs deinit, which would close the fd a second time.
        self.fd = try Self.connect(path: path, timeout: timeout)
    }

    private static func connect(path: String, timeout: Double) throws(ControlClientError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlClientError(path: path, reason: String(cString: strerror(errno))) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw ControlClientError(path: path, reason: "path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) }
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, size) }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw ControlClientError(path: path, reason: "\(String(cString: strerror(code))): is an arbiter running with this --control path?",
                                     refused: code == ECONNREFUSED)
        }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    deinit { close(fd) }

    public func send(_ command: ControlCommand) throws -> ControlResponse {
        try send(line: try ControlCodec.encode(command, origin: origin))
    }

    /// Sends one line as it is (it must end with a newline): for tests of what the
    /// server makes of requests no `ControlCommand` can express.
    public func send(line: [UInt8]) throws -> ControlResponse {
        var offset = 0
        while offset < line.count {
            let written = line.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw ControlClientError(path: path, reason: "connection lost while sending") }
            offset += written
        }
        return try ControlCodec.decode(ControlResponse.self, from: readLine())
    }

    private func readLine() throws(ControlClientError) -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else {
                throw ControlClientError(path: path, reason: count == 0 ? "the arbiter closed the connection" : "no answer in time")
            }
            pending.append(contentsOf: chunk[..<count])
        }
    }
}

public struct ControlClientError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    /// Nobody listens on the socket file: a stale one.
    public var refused = false

    public init(path: String, reason: String, refused: Bool = false) {
        self.path = path
        self.reason = reason
        self.refused = refused
    }

    public var description: String { "control socket \(path): \(reason)" }
}
