import Foundation
import Glibc

/// systemd socket activation (sd_listen_fds(3)): the listening sockets systemd
/// opened for the service, from fd 3 on, when `LISTEN_PID` is this process.
///
/// `LISTEN_FDNAMES` (`FileDescriptorName=` in the .socket unit) assigns a socket to
/// the service of that name; unnamed sockets (systemd's default name `unknown`, or
/// a name no service has) go to the first service that is not auxiliary. A service
/// given sockets this way does not bind its `-b` addresses. The variables are
/// removed so that workers do not take the sockets for theirs.
enum SocketActivation {
    struct Passed {
        let name: String?
        let fd: Int32
    }

    static func passedSockets() -> [Passed] {
        let environment = ProcessInfo.processInfo.environment
        defer { for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { unsetenv(name) } }
        guard let pid = environment["LISTEN_PID"].flatMap({ Int32($0) }), pid == getpid(),
              let count = environment["LISTEN_FDS"].flatMap({ Int32($0) }), (1...1000).contains(count) else { return [] }
        let names = (environment["LISTEN_FDNAMES"] ?? "").split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        return (0..<count).map { index in
            let name = Int(index) < names.count ? names[Int(index)] : nil
            return Passed(name: name == "unknown" || name?.isEmpty == true ? nil : name, fd: 3 + index)
        }
    }

    /// Which service each passed socket belongs to: an index into `services`.
    static func assign(_ passed: [Passed], to services: [ArbiterConfiguration.Service]) -> [Int: [Int32]] {
        var assigned: [Int: [Int32]] = [:]
        let fallback = services.firstIndex { !$0.auxiliary } ?? 0
        for socket in passed {
            let index = socket.name.flatMap { name in services.firstIndex { $0.name == name } } ?? fallback
            assigned[index, default: []].append(socket.fd)
        }
        return assigned
    }
}
