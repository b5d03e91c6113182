import Foundation
import Glibc

/// A TCP port nobody listens on right now, and one this process has not handed
/// out before: the kernel readily gives a port just released to the next caller,
/// and tests running side by side would then start servers on the same port.
public func freePort() throws -> Int {
    while true {
        let (fd, port) = try boundSocket(listening: false)
        close(fd)
        if handedOut.withLock({ $0.insert(port).inserted }) { return port }
    }
}

private let handedOut = LockedPorts()

private final class LockedPorts: @unchecked Sendable {
    private let lock = NSLock()
    private var ports: Set<Int> = []
    func withLock<R>(_ body: (inout Set<Int>) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&ports)
    }
}

/// A socket bound to a port the OS chose on 127.0.0.1, listening if asked; the
/// caller closes it. Bound but not listening, connections to it are refused and
/// no other test can take the port.
public func boundSocket(listening: Bool) throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && (!listening || listen(fd, 16) == 0) && getsockname(fd, $0, &length) == 0
        }
    }
    guard ok else {
        close(fd)
        throw SupportError("cannot bind a port")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

public struct SupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
