import Foundation
import Glibc

/// systemd's notification protocol (sd_notify(3)), without libsystemd: datagrams
/// of `KEY=VALUE` lines to the socket named by `NOTIFY_SOCKET`, which systemd sets
/// for a `Type=notify` (or `notify-reload`) service.
///
/// The arbiter sends `READY=1` once every service has its ready workers,
/// `RELOADING=1` with `MONOTONIC_USEC` when a rolling reload starts and `READY=1`
/// when it is done, `STOPPING=1` when it shuts down, a `STATUS=` line as the workers
/// change, and `WATCHDOG=1` from its tick when systemd asks for it
/// (`WATCHDOG_USEC`). Without `NOTIFY_SOCKET` every call does nothing.
final class SystemdNotifier {
    private let fd: Int32
    private var address = sockaddr_un()
    private var addressLength: socklen_t = 0
    /// Seconds between two `WATCHDOG=1`: half of what systemd allows.
    let watchdogInterval: Double?
    private var lastWatchdog = 0.0
    private var lastStatus = ""

    /// Reads the environment, then removes the variables, so workers and apps,
    /// which inherit it, cannot speak for the service.
    init() {
        let environment = ProcessInfo.processInfo.environment
        var path = environment["NOTIFY_SOCKET"] ?? ""
        let watchdogPID = environment["WATCHDOG_PID"].flatMap { Int32($0) }
        let watchdogUsec = environment["WATCHDOG_USEC"].flatMap { UInt64($0) }
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] { unsetenv(name) }
        if let watchdogUsec, watchdogUsec > 0, watchdogPID == nil || watchdogPID == getpid() {
            watchdogInterval = Double(watchdogUsec) / 2_000_000
        } else {
            watchdogInterval = nil
        }
        guard !path.isEmpty, path.hasPrefix("/") || path.hasPrefix("@"),
              path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            fd = -1
            return
        }
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        address.sun_family = sa_family_t(AF_UNIX)
        // An abstract socket (`@name`) starts with a NUL byte and is not NUL-terminated.
        let abstract = path.hasPrefix("@")
        if abstract { path.removeFirst() }
        let bytes = (abstract ? [0] : []) + Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
    }

    deinit { if fd >= 0 { close(fd) } }

    var isActive: Bool { fd >= 0 }

    func send(_ message: String) {
        guard fd >= 0 else { return }
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sockaddrPointer, addressLength) }
            }
        }
    }

    func ready(status: String) { send("READY=1\nSTATUS=\(status)") }

    func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        send("RELOADING=1\nMONOTONIC_USEC=\(UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000)")
    }

    func stopping() { send("STOPPING=1") }

    /// A new `STATUS=` line, when it says something new.
    func status(_ line: String) {
        guard line != lastStatus else { return }
        lastStatus = line
        send("STATUS=\(line)")
    }

    /// `WATCHDOG=1` when due: the arbiter's loop is alive.
    func watchdog(now: Double) {
        guard let watchdogInterval, now - lastWatchdog >= watchdogInterval else { return }
        lastWatchdog = now
        send("WATCHDOG=1")
    }
}
