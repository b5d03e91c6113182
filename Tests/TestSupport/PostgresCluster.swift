import Foundation
import Glibc

/// A throwaway PostgreSQL cluster: initdb in a temporary directory, a free port,
/// started for the tests and removed after. As root it runs as the `postgres`
/// user, since PostgreSQL refuses to run as root.
public final class PostgresCluster: @unchecked Sendable {
    public let directory: String
    public private(set) var port: Int
    private let binaries: String
    private let runAs: String?

    public var url: String { "postgres://pulse@127.0.0.1:\(port)/postgres" }

    public static func binaryDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        guard let newest = versions.last else {
            throw ClusterError("PostgreSQL server binaries are missing under \(root): scripts/test installs the postgresql package")
        }
        return "\(root)/\(newest)/bin"
    }

    public init() throws {
        binaries = try Self.binaryDirectory()
        runAs = getuid() == 0 ? "postgres" : nil
        var template = Array((NSTemporaryDirectory() + "pulse-pg-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw ClusterError("mkdtemp failed") }
        directory = String(cString: made)
        if let runAs, let user = getpwnam(runAs) { chown(directory, user.pointee.pw_uid, user.pointee.pw_gid) }
        port = try freePort()
        try run(["\(binaries)/initdb", "-D", "\(directory)/data", "-A", "trust", "-U", "pulse", "--no-sync", "-E", "UTF8"])
        // The port may be taken between choosing and binding it (an arbiter bound to
        // port 0 can get it): try a few.
        for attempt in 1...5 {
            do {
                try start()
                break
            } catch where attempt < 5 {
                port = try freePort()
            }
        }
    }

    public func start() throws {
        try run(["\(binaries)/pg_ctl", "-D", "\(directory)/data", "-w", "-l", "\(directory)/log", "-o",
                 "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start"])
    }

    public func stop() throws {
        try run(["\(binaries)/pg_ctl", "-D", "\(directory)/data", "-m", "immediate", "-w", "stop"])
    }

    deinit {
        try? stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops the server and removes its files (for the shared cluster, at exit).
    func stopAndRemove() {
        try? stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a command to completion (as `postgres` when we are root).
    private func run(_ arguments: [String]) throws {
        let argv = (runAs.map { ["/usr/sbin/runuser", "-u", $0, "--"] } ?? []) + arguments
        let log = directory + "/commands.log"
        guard try runToCompletion(argv, output: log) == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw ClusterError("\(arguments[0].split(separator: "/").last ?? "") failed: \(output.suffix(1500))")
        }
    }
}
public struct ClusterError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension PostgresCluster {
    /// One cluster for the whole test process, started on first use and stopped
    /// when the process exits: initdb is heavy on a 2-core machine.
    public static func shared() throws -> PostgresCluster {
        try sharedCluster.get()
    }

    private static let sharedCluster: Result<PostgresCluster, Error> = {
        let result = Result { try PostgresCluster() }
        if case .success(let cluster) = result {
            sharedForExit.withLock { $0 = cluster }
            atexit { sharedForExit.withLock { $0?.stopAndRemove() } }
        }
        return result
    }()
}

private let sharedForExit = LockedCluster()

private final class LockedCluster: @unchecked Sendable {
    private let lock = NSLock()
    private var cluster: PostgresCluster?
    func withLock<R>(_ body: (inout PostgresCluster?) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&cluster)
    }
}
