import Foundation
import PulseControl

/// What the built-in load (`g`) sends and where, read from the status; the
/// terminal's `LoadGenerator` only runs it.
///
/// Light: two clients, one request at a time each, a short pause between.
/// Saturating: three times as many concurrent slow requests as the service has
/// threads (`/sleep`, and `/db` as well when its workers report a database pool), so
/// that in thread mode every thread is busy and requests queue, and after `t` the
/// cooperative slots take them all and the queue drains.
public struct LoadPlan: Equatable, Sendable {
    public var host: String
    public var port: Int
    public var concurrency: Int
    /// Each client goes through them in turn, starting at its own number.
    public var paths: [String]
    /// Microseconds a client waits between two requests.
    public var pause: UInt32
    /// What it sends, in the words the dashboard says it with.
    public var label: String

    /// The plan for a level against a service; nil when off, or when the service has no TCP address.
    public init?(_ level: DashboardModel.LoadLevel, for service: ServiceStatus) {
        guard level != .off, let (host, port) = Self.address(of: service) else { return nil }
        self.host = host
        self.port = port
        if level == .light {
            concurrency = 2
            paths = ["/hello", "/sleep?ms=20", "/cpu?ms=2"]
            pause = 15_000
            label = "2 clients on /hello, /sleep?ms=20, /cpu?ms=2"
            return
        }
        // Each worker's figure bounded before the sum: a status is read from a socket.
        let threads = service.workers.reduce(0) { $0 + min(max(0, $1.threads?.size ?? 0), 1 << 20) }
        let slots = threads > 0 ? threads : 20
        // A pool is reported once a worker has a database client: `--database` was given.
        let database = service.workers.contains { $0.database != nil }
        concurrency = min(max(3 * slots, 4), 300)
        paths = database ? ["/sleep?ms=200", "/db?ms=200"] : ["/sleep?ms=200"]
        pause = 0
        label = "\(concurrency) clients on \(paths.joined(separator: " and ")), for \(slots) threads"
    }

    /// The service's first TCP address, as a client reaches it.
    static func address(of service: ServiceStatus) -> (host: String, port: Int)? {
        for bind in service.binds where !bind.hasPrefix("unix:") {
            guard let colon = bind.lastIndex(of: ":"), let port = Int(bind[bind.index(after: colon)...]) else { continue }
            let host = bind[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            return (host.contains(":") ? "127.0.0.1" : host, port)
        }
        return nil
    }
}
