import Foundation
import Glibc

/// The `--pidfile` contract: refuse to start if it names a live process,
/// overwrite a stale one, remove it on exit (only if it is still ours).
public struct Pidfile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public func claim(pid: Int32 = getpid()) throws(PidfileError) {
        if let existing = read(), existing != pid, Self.isAlive(existing) {
            throw PidfileError(path: path, reason: "it names process \(existing), which is running")
        }
        let temporary = "\(path).\(pid).tmp"
        do {
            try "\(pid)\n".write(toFile: temporary, atomically: false, encoding: .utf8)
        } catch {
            throw PidfileError(path: path, reason: "cannot write it: \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw PidfileError(path: path, reason: "cannot write it: \(reason)")
        }
    }

    public func read() -> Int32? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    public func release(pid: Int32 = getpid()) {
        if read() == pid { unlink(path) }
    }

    static func isAlive(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }
}

public struct PidfileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    public var description: String { "pidfile \(path): \(reason)" }
}
