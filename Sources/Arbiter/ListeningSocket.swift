import CPulseSystem
import Glibc
import Mailbox

/// A listening socket the arbiter binds once and shares with every worker it spawns.
///
/// The arbiter never accepts on it; it keeps it open for its whole life, so
/// connections queued on it survive workers coming and going (reload, scale-down).
public struct ListeningSocket: Sendable {
    public let fd: Int32
    /// What was asked for.
    public let requested: Bind
    /// What the kernel gave: the real port when port 0 was asked for.
    public let bound: Bind
    /// A socket systemd passed: its unix socket file is systemd's, not removed on close.
    public var inherited = false

    /// Binds and listens. Errors name the address and the system's reason.
    public static func bind(_ bind: Bind, backlog: Int32 = 2048) throws(SocketError) -> ListeningSocket {
        switch bind {
        case .tcp(let host, let port): return try bindTCP(host: host, port: port, requested: bind, backlog: backlog)
        case .unix(let path): return try bindUnix(path: path, requested: bind, backlog: backlog)
        }
    }

    private static func bindTCP(host: String, port: Int, requested: Bind, backlog: Int32) throws(SocketError) -> ListeningSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let info = result else {
            throw SocketError(bind: requested, reason: "cannot resolve host '\(host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }

        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(bind: requested, errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Glibc.bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let error = errno
            Glibc.close(fd)
            throw SocketError(bind: requested, errno: error)
        }
        try listenNonBlocking(fd, requested: requested, backlog: backlog)
        return ListeningSocket(fd: fd, requested: requested, bound: .tcp(host: host, port: localPort(fd) ?? port))
    }

    private static func bindUnix(path: String, requested: Bind, backlog: Int32) throws(SocketError) -> ListeningSocket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw SocketError(bind: requested, reason: "path is longer than \(capacity - 1) bytes")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(bind: requested, errno: errno) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
        }
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        if UnixSocketFile.isStale(path) { unlink(path) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, size) }
        }
        guard rc == 0 else {
            let error = errno
            Glibc.close(fd)
            throw SocketError(bind: requested, errno: error)
        }
        try listenNonBlocking(fd, requested: requested, backlog: backlog)
        return ListeningSocket(fd: fd, requested: requested, bound: requested)
    }

    /// Workers poll and accept without blocking, several processes on one socket.
    private static func listenNonBlocking(_ fd: Int32, requested: Bind, backlog: Int32) throws(SocketError) {
        guard listen(fd, backlog) == 0, pulse_set_nonblocking(fd, 1) == 0 else {
            let error = errno
            Glibc.close(fd)
            throw SocketError(bind: requested, errno: error)
        }
    }

    private static func localPort(_ fd: Int32) -> Int? {
        guard case .tcp(_, let port)? = localAddress(fd) else { return nil }
        return port
    }

    public func close() {
        Glibc.close(fd)
        if case .unix(let path) = bound, !inherited { unlink(path) }
    }

    /// Takes a listening socket passed by systemd (socket activation): it must be a
    /// stream socket that listens; its address is read back from the kernel.
    public static func adopt(fd: Int32) throws(SocketError) -> ListeningSocket {
        let unknown = Bind.unix(path: "fd:\(fd)")
        var type: Int32 = 0, listening: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0 else { throw SocketError(bind: unknown, errno: errno) }
        size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0 else { throw SocketError(bind: unknown, errno: errno) }
        guard type == Int32(SOCK_STREAM.rawValue), listening == 1 else {
            throw SocketError(bind: unknown, reason: "passed by systemd but not a listening stream socket (use ListenStream=)")
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        guard pulse_set_nonblocking(fd, 1) == 0 else { throw SocketError(bind: unknown, errno: errno) }
        let bound = localAddress(fd) ?? unknown
        var socket = ListeningSocket(fd: fd, requested: bound, bound: bound)
        socket.inherited = true
        return socket
    }

    /// The address a socket is bound to, as a `Bind`.
    private static func localAddress(_ fd: Int32) -> Bind? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var ip = address.pointee.sin_addr
                    inet_ntop(AF_INET, &ip, &text, socklen_t(text.count))
                    return .tcp(host: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port: Int(UInt16(bigEndian: address.pointee.sin_port)))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var ip = address.pointee.sin6_addr
                    inet_ntop(AF_INET6, &ip, &text, socklen_t(text.count))
                    return .tcp(host: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port: Int(UInt16(bigEndian: address.pointee.sin6_port)))
                }
            }
        case AF_UNIX:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_un.self, capacity: 1) { address in
                    var path = address.pointee.sun_path
                    let string = withUnsafeBytes(of: &path) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    return string.isEmpty ? nil : .unix(path: string)
                }
            }
        default:
            return nil
        }
    }
}

/// Why a listening socket could not be opened.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    public let bind: Bind
    public let reason: String

    init(bind: Bind, reason: String) { self.bind = bind; self.reason = reason }
    init(bind: Bind, errno code: Int32) { self.init(bind: bind, reason: String(cString: strerror(code))) }

    public var description: String { "cannot listen on \(bind): \(reason)" }
}

/// Unix socket files outlive crashed processes; a stale one is safe to remove,
/// a live one means another process is serving there.
enum UnixSocketFile {
    /// True when `path` is a socket file nobody accepts on.
    static func isStale(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK else { return false }
        return !isLive(path)
    }

    /// True when a process accepts connections on the socket at `path`.
    static func isLive(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) }
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) }
        }
        return rc == 0
    }
}
