import CPulseSystem
import Foundation
import Glibc
import Mailbox

/// A worker process just spawned, and the arbiter's ends of its pipes.
struct SpawnedWorker {
    let pid: Int32
    /// The arbiter's end of the worker's mailbox socketpair.
    let mailboxFD: Int32
    let stdoutFD: Int32
    let stderrFD: Int32
    /// Where the worker writes the requests it serves; nil if it could not be made.
    let scoreboard: ScoreboardMapping?
}

/// Spawns workers as processes of the same executable, with posix_spawn: not
/// Foundation.Process, which closes the fds a worker must inherit.
///
/// In the worker: fd 0 is /dev/null, 1 and 2 are pipes the arbiter reads, 3 is
/// the mailbox, 4 the scoreboard, 5... are the listening sockets; everything else
/// is closed.
struct WorkerSpawner {
    static let mailboxFD: Int32 = 3
    static let scoreboardFD: Int32 = 4
    static let firstListenFD: Int32 = 5

    let executable: String
    let arbiterPID: Int32

    func spawn(service: String, id: Int, listeners: [ListeningSocket], settings: WorkerSettings) throws -> SpawnedWorker {
        var mailbox: [Int32] = [-1, -1], out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard pulse_socketpair_cloexec(&mailbox) == 0 else { throw SpawnError.system("socketpair", errno) }
        guard pulse_pipe_cloexec(&out) == 0 else { closeAll(mailbox); throw SpawnError.system("pipe", errno) }
        guard pulse_pipe_cloexec(&err) == 0 else { closeAll(mailbox + out); throw SpawnError.system("pipe", errno) }

        let listenFDs = listeners.indices.map { Self.firstListenFD + Int32($0) }
        // A worker without a scoreboard still serves; its post-mortem is just shorter.
        let scoreboard = ScoreboardMapping.create()
        defer { if let fd = scoreboard?.fd { close(fd) } }
        var launch = WorkerLaunch(service: service, id: id, binds: listeners.map(\.bound), listenFDs: listenFDs,
                                  mailboxFD: Self.mailboxFD, arbiterPID: arbiterPID, settings: settings)
        let scoreboardSources = scoreboard.map { [$0.fd] } ?? []
        if scoreboard != nil { launch.scoreboardFD = Self.scoreboardFD }
        let sources = [out[1], err[1], mailbox[1]] + scoreboardSources + listeners.map(\.fd)
        let targets: [Int32] = [1, 2, Self.mailboxFD] + (scoreboard == nil ? [] : [Self.scoreboardFD]) + listenFDs
        let firstClosed = Self.firstListenFD + Int32(listeners.count)
        // Copies above every target fd, so no dup2 in the child overwrites a source it still needs.
        let copies = sources.map { pulse_dup_cloexec_above($0, firstClosed) }
        defer { closeAll(copies + [out[1], err[1], mailbox[1]]) }
        guard !copies.contains(where: { $0 < 0 }) else { throw SpawnError.system("fcntl", errno) }

        var environment = Self.childEnvironment()
        environment[WorkerLaunch.environmentKey] = String(decoding: try JSONEncoder().encode(launch), as: UTF8.self)
        let argv = ["pulse: worker \(launch.name)"]
        let envp = environment.map { "\($0.key)=\($0.value)" }

        var pid: pid_t = 0
        let rc = withCStrings(argv) { argvPointer in
            withCStrings(envp) { envPointer in
                pulse_spawn(executable, argvPointer, envPointer, copies, targets, Int32(copies.count),
                            firstClosed, 1, 0, &pid)
            }
        }
        guard rc == 0 else {
            closeAll([mailbox[0], out[0], err[0]])
            throw SpawnError.system("posix_spawn \(executable)", rc)
        }
        return SpawnedWorker(pid: pid, mailboxFD: mailbox[0], stdoutFD: out[0], stderrFD: err[0], scoreboard: scoreboard?.0)
    }

    /// Spawns a process that shares the arbiter's terminal (stdin, stdout, stderr)
    /// and process group, so it can read keys: the embedded dashboard.
    func spawnOnTerminal(arguments: [String]) throws -> Int32 {
        var environment = Self.childEnvironment()
        environment.removeValue(forKey: WorkerLaunch.environmentKey)
        // On a terminal in raw mode Swift's crash reporter hangs the crashed process
        // (seen with interactive=no too); the arbiter is waiting to take the terminal back.
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let rc = withCStrings(["pulse: dashboard"] + arguments) { argvPointer in
            withCStrings(envp) { envPointer in
                pulse_spawn(executable, argvPointer, envPointer, nil, nil, 0, 3, 0, 1, &pid)
            }
        }
        guard rc == 0 else { throw SpawnError.system("posix_spawn \(executable)", rc) }
        return pid
    }

    private func closeAll(_ fds: [Int32]) {
        for fd in fds where fd >= 0 { close(fd) }
    }
}

enum SpawnError: Error, CustomStringConvertible {
    case system(String, Int32)
    var description: String {
        switch self {
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        }
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }

}

extension WorkerSpawner {
    /// The arbiter's environment without systemd's variables: the readiness socket
    /// and the passed sockets are the arbiter's alone.
    static func childEnvironment() -> [String: String] {
        ProcessInfo.processInfo.environment.filter {
            !["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"].contains($0.key)
        }
    }
}
