import Dashboard
import Foundation
import Glibc
import NIOConcurrencyHelpers

/// Runs the built-in load (the `g` key) that `LoadPlan` describes, so a newcomer
/// sees the numbers move without installing a load tool: a thread per client.
final class LoadGenerator: Sendable {
    private let running = NIOLockedValueBox(false)
    private let generation = NIOLockedValueBox(0)

    var isRunning: Bool { running.withLockedValue { $0 } }

    func start(_ plan: LoadPlan) {
        running.withLockedValue { $0 = true }
        let current = generation.withLockedValue { value -> Int in
            value += 1
            return value
        }
        for thread in 0..<plan.concurrency {
            Thread.detachNewThread { [self] in
                var index = thread
                while running.withLockedValue({ $0 }), generation.withLockedValue({ $0 }) == current {
                    Self.get(host: plan.host, port: plan.port, path: plan.paths[index % plan.paths.count])
                    index += 1
                    if plan.pause > 0 { usleep(plan.pause) }
                }
            }
        }
    }

    func stop() { running.withLockedValue { $0 = false } }

    private static func get(host: String, port: Int, path: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var limit = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(host == "0.0.0.0" ? "127.0.0.1" : host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\nUser-Agent: pulse-load\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, 0) }) > 0 {}
    }
}
