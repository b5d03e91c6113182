import Foundation
import Glibc

/// A minimal blocking HTTP/1.1 client over a real TCP socket: enough to see what a
/// client sees, with no library between the test and the server.
enum HTTPProbe {
    struct Reply: Sendable {
        let status: Int
        let headers: [String: String]
        let body: String
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Sends `GET path` with `Connection: close` and reads the whole reply.
    static func get(port: Int, _ path: String, timeout: Double = 15) throws -> Reply {
        let text = try exchange(port: port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout: timeout)
        return try parse(text)
    }

    /// Sends raw bytes and returns everything the server wrote until it closed.
    static func exchange(port: Int, _ request: String, timeout: Double = 15) throws -> String {
        let fd = try connect(port: port, timeout: timeout)
        defer { close(fd) }
        try sendAll(fd, Array(request.utf8))
        return try readToEnd(fd)
    }

    /// Reads until the server closes the connection.
    static func readToEnd(_ fd: Int32) throws -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else {
                throw Failure(description: errno == EAGAIN ? "no reply in time" : "recv: \(String(cString: strerror(errno)))")
            }
            received.append(contentsOf: chunk[..<count])
        }
        return String(decoding: received, as: UTF8.self)
    }

    static func connect(port: Int, timeout: Double) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "connect to port \(port): \(reason)")
        }
        return fd
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    static func parse(_ text: String) throws -> Reply {
        guard let split = text.range(of: "\r\n\r\n") else {
            throw Failure(description: text.isEmpty ? "connection closed without a reply" : "incomplete reply: \(text.prefix(200))")
        }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw Failure(description: "bad status line: \(lines[0])")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Reply(status: status, headers: headers, body: String(text[split.upperBound...]))
    }
}

/// Sends requests one after another from threads of its own until stopped,
/// counting what succeeded and what failed: the client's view of a reload.
final class RequestLoop: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private var finishedThreads = 0
    private(set) var succeeded = 0
    private(set) var failures: [String] = []
    private let threads: Int

    /// `keepAlive`: each thread keeps one connection and sends its requests on it,
    /// opening a new one only when a response says `Connection: close`, as a browser
    /// or a load balancer does.
    init(port: Int, path: String, threads: Int = 2, keepAlive: Bool = false) {
        self.threads = threads
        for _ in 0..<threads {
            Thread.detachNewThread { [self] in
                var connection: KeepAliveConnection?
                while lock.withLock({ running }) {
                    do {
                        let status: Int
                        if keepAlive {
                            let current = try connection ?? KeepAliveConnection(port: port)
                            let reply = try current.get(path)
                            status = reply.status
                            connection = reply.closes ? nil : current
                        } else {
                            status = try HTTPProbe.get(port: port, path).status
                        }
                        lock.withLock {
                            if status == 200 { succeeded += 1 } else { failures.append("status \(status)") }
                        }
                    } catch {
                        connection = nil
                        lock.withLock { failures.append("\(error)") }
                    }
                }
                lock.withLock { finishedThreads += 1 }
            }
        }
    }

    var counts: (succeeded: Int, failures: [String]) { lock.withLock { (succeeded, failures) } }

    /// Stops and waits for the requests in flight to finish.
    func stop() async throws -> (succeeded: Int, failures: [String]) {
        lock.withLock { running = false }
        try await eventually(timeout: 30, "the request loop to stop") { lock.withLock { finishedThreads == threads } }
        return counts
    }
}

/// One persistent HTTP/1.1 connection, for requests one after another.
final class KeepAliveConnection {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws { fd = try HTTPProbe.connect(port: port, timeout: 15) }
    deinit { close(fd) }

    /// Sends `GET path` and reads its response; `closes` when the server said it closes.
    func get(_ path: String) throws -> (status: Int, closes: Bool) {
        try HTTPProbe.sendAll(fd, Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
        while buffer.firstRange(of: Array("\r\n\r\n".utf8)) == nil { try fill() }
        let end = buffer.firstRange(of: Array("\r\n\r\n".utf8))!
        let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self).lowercased()
        buffer.removeSubrange(..<end.upperBound)
        let lines = head.components(separatedBy: "\r\n")
        guard let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw HTTPProbe.Failure(description: "not a response: \(head.prefix(40))")
        }
        let length = lines.first { $0.hasPrefix("content-length:") }.flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
        while buffer.count < length { try fill() }
        buffer.removeSubrange(..<length)
        return (status, lines.contains("connection: close"))
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else {
            throw HTTPProbe.Failure(description: count == 0 ? "closed before a response" : "recv: \(String(cString: strerror(errno)))")
        }
        buffer += chunk[..<count]
    }
}

/// Sends `count` requests at once, each on its own connection and thread; returns
/// their statuses, sorted, and the time they all took.
func concurrently(_ count: Int, port: Int, _ path: String, timeout: Double = 15) async throws -> (statuses: [Int], seconds: Double) {
    let started = Date()
    let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
        for _ in 0..<count {
            group.addTask { try await onThread { try HTTPProbe.get(port: port, path, timeout: timeout).status } }
        }
        return try await group.reduce(into: []) { $0.append($1) }
    }
    return (statuses.sorted(), Date().timeIntervalSince(started))
}
