import Foundation
import Glibc
import NIOConcurrencyHelpers

/// The built-in load against the demo endpoints (the `g` key), so a newcomer sees
/// the numbers move without installing a load tool.
///
/// Light: two threads, one request at a time each, a short pause between. Saturating:
/// three times as many concurrent slow requests (`/sleep?ms=200`) as the service has
/// threads, so that in thread mode every thread is busy and requests queue, and after
/// `t` the cooperative slots take them all and the queue drains.
final class LoadGenerator: Sendable {
    struct Plan: Sendable {
        enum Kind: Sendable { case light, saturating(threadSlots: Int) }
        let concurrency: Int
        let paths: [String]
        let pause: UInt32
        let label: String

        init(_ kind: Kind) {
            switch kind {
            case .light:
                concurrency = 2
                paths = ["/hello", "/sleep?ms=20", "/cpu?ms=2"]
                pause = 15_000
                label = "2 clients on /hello, /sleep?ms=20, /cpu?ms=2"
            case .saturating(let slots):
                concurrency = min(max(3 * slots, 4), 300)
                paths = ["/sleep?ms=200"]
                pause = 0
                label = "\(concurrency) clients on /sleep?ms=200, for \(slots) threads"
            }
        }
    }

    private let running = NIOLockedValueBox(false)
    private let generation = NIOLockedValueBox(0)

    var isRunning: Bool { running.withLockedValue { $0 } }

    func start(host: String, port: Int, plan: Plan) {
        running.withLockedValue { $0 = true }
        let current = generation.withLockedValue { value -> Int in
            value += 1
            return value
        }
        for thread in 0..<plan.concurrency {
            Thread.detachNewThread { [self] in
                var index = thread
                while running.withLockedValue({ $0 }), generation.withLockedValue({ $0 }) == current {
                    Self.get(host: host, port: port, path: plan.paths[index % plan.paths.count])
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
