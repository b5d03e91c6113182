import Foundation
import Glibc
import Mailbox

/// Where arbiters put their control sockets when `--control` is not given, and how
/// `pulse ctl` and `pulse top` find the one a user means.
///
/// Each arbiter takes `pulse-PID.sock` in the user's directory, so two `pulse` for
/// two apps start side by side. A client with no `--control` asks every live socket
/// there for its status: the only arbiter is the one; with `-b ADDRESS`, the one that
/// listens there; otherwise it lists them and asks which.
public enum ControlDiscovery {
    /// `$XDG_RUNTIME_DIR/pulse`, else `/tmp/pulse-UID`: the user's own, mode 0700.
    public static var directory: String {
        if let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return "\(runtime)/pulse"
        }
        return "/tmp/pulse-\(getuid())"
    }

    public static func socketPath(pid: Int32) -> String { "\(directory)/pulse-\(pid).sock" }

    /// An arbiter found in the directory.
    public struct Found: Sendable {
        public let path: String
        public let status: StatusSnapshot

        /// `pid 4242: web at 0.0.0.0:8060, ds at 127.0.0.1:6410`
        public var summary: String {
            let services = status.services.map { "\($0.name) at \($0.binds.joined(separator: " "))" }
            return "pid \(status.arbiter.pid): \(services.joined(separator: ", "))"
        }

        public func listens(at bind: Bind) -> Bool {
            status.services.contains { service in
                service.binds.contains { (try? Bind(parsing: $0))?.serves(bind) ?? false }
            }
        }
    }

    /// Every arbiter whose socket in `directory` answers `status`. Sockets nobody
    /// listens on any more (an arbiter killed with SIGKILL) are removed.
    public static func running(in directory: String = directory) -> [Found] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("pulse-") && $0.hasSuffix(".sock") }.sorted().compactMap { name in
            let path = "\(directory)/\(name)"
            do {
                guard let status = try ControlClient(path: path, timeout: 2).send(.status).status else { return nil }
                return Found(path: path, status: status)
            } catch let error as ControlClientError where error.refused {
                unlink(path)
                return nil
            } catch {
                return nil
            }
        }
    }

    /// The control socket a client should use: `explicit` if given; otherwise the
    /// only arbiter running, or the one listening at `bind`.
    public static func choose(explicit: String?, bind: String?, in directory: String = directory) throws(DiscoveryError) -> String {
        if let explicit { return explicit }
        var wanted: Bind?
        if let bind {
            do { wanted = try Bind(parsing: bind) } catch { throw DiscoveryError("-b: \(error)") }
        }
        let found = running(in: directory)
        let matching = wanted.map { wanted in found.filter { $0.listens(at: wanted) } } ?? found
        switch matching.count {
        case 1:
            return matching[0].path
        case 0 where found.isEmpty:
            throw DiscoveryError("no arbiter is running (none answers in \(directory)); start one with `pulse`, or pass --control PATH")
        case 0:
            throw DiscoveryError("no running arbiter listens at \(bind ?? ""); running:\n" + found.map { "  \($0.summary)" }.joined(separator: "\n"))
        default:
            throw DiscoveryError("several arbiters are running; pass -b ADDRESS or --control PATH:\n"
                + matching.map { "  \($0.summary)  (--control \($0.path))" }.joined(separator: "\n"))
        }
    }
}

public struct DiscoveryError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
