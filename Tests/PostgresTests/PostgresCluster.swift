import Foundation
import Glibc
import TestSupport

/// A throwaway PostgreSQL cluster: initdb in a temporary directory, a free port,
/// started for the tests and removed after. As root it runs as the `postgres`
/// user, since PostgreSQL refuses to run as root.
final class PostgresCluster: @unchecked Sendable {
    let directory: String
    let port: Int
    private let binaries: String
    private let runAs: String?

    var url: String { "postgres://pulse@127.0.0.1:\(port)/postgres" }

    static func binaryDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        guard let newest = versions.last else {
            throw ClusterError("PostgreSQL server binaries are missing under \(root): scripts/test installs the postgresql package")
        }
        return "\(root)/\(newest)/bin"
    }

    init() throws {
        binaries = try Self.binaryDirectory()
        runAs = getuid() == 0 ? "postgres" : nil
        var template = Array((NSTemporaryDirectory() + "pulse-pg-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw ClusterError("mkdtemp failed") }
        directory = String(cString: made)
        if let runAs, let user = getpwnam(runAs) { chown(directory, user.pointee.pw_uid, user.pointee.pw_gid) }
        port = try freePort()
        try run(["\(binaries)/initdb", "-D", "\(directory)/data", "-A", "trust", "-U", "pulse", "--no-sync", "-E", "UTF8"])
        try start()
    }

    func start() throws {
        try run(["\(binaries)/pg_ctl", "-D", "\(directory)/data", "-w", "-l", "\(directory)/log", "-o",
                 "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start"])
    }

    func stop() throws {
        try run(["\(binaries)/pg_ctl", "-D", "\(directory)/data", "-m", "immediate", "-w", "stop"])
    }

    deinit {
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
struct ClusterError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
