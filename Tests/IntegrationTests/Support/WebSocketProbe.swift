import Foundation
import Glibc

/// A minimal blocking WebSocket client (RFC 6455) over a real socket, able to send
/// well-formed and deliberately broken frames.
/// Used from one thread at a time (each test hands it between threads in turn).
final class WebSocketProbe: @unchecked Sendable {
    struct Frame: Equatable {
        let fin: Bool
        let opcode: UInt8
        let payload: [UInt8]
        /// RSV1: the message is compressed (permessage-deflate).
        var rsv1 = false
        var text: String { String(decoding: payload, as: UTF8.self) }
        /// The close code of a close frame.
        var closeCode: Int? { opcode == 0x8 && payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : nil }
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    /// The server's handshake response head.
    private(set) var responseHead = ""

    init(port: Int, path: String, timeout: Double = 10, headers: [String: String] = [:]) throws {
        fd = try HTTPProbe.connect(port: port, timeout: timeout)
        let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(extra)\r\n"
        try HTTPProbe.sendAll(fd, Array(request.utf8))
        while true {
            if let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                buffer.removeSubrange(..<end.upperBound)
                responseHead = head
                guard head.hasPrefix("HTTP/1.1 101") else {
                    close(fd)
                    throw HTTPProbe.Failure(description: "no upgrade: \(head)")
                }
                guard head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") else {
                    close(fd)
                    throw HTTPProbe.Failure(description: "wrong Sec-WebSocket-Accept: \(head)")
                }
                return
            }
            try fill()
        }
    }

    deinit { close(fd) }

    func send(opcode: UInt8, _ payload: [UInt8], fin: Bool = true, masked: Bool = true) throws {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        if payload.count < 126 {
            frame.append(maskBit | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame.append(maskBit | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(maskBit | 127)
            frame += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        if masked {
            let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
            frame += key
            frame += payload.enumerated().map { $1 ^ key[$0 % 4] }
        } else {
            frame += payload
        }
        try HTTPProbe.sendAll(fd, frame)
    }

    func send(text: String) throws { try send(opcode: 0x1, Array(text.utf8)) }

    func receive() throws -> Frame {
        while true {
            if let frame = parse() { return frame }
            try fill()
        }
    }

    /// The next frame that is not a ping (pings are answered).
    func receiveSkippingPings() throws -> Frame {
        while true {
            let frame = try receive()
            if frame.opcode == 0x9 {
                try send(opcode: 0xA, frame.payload)
                continue
            }
            return frame
        }
    }

    private func parse() -> Frame? {
        guard buffer.count >= 2 else { return nil }
        var length = Int(buffer[1] & 0x7F)
        var offset = 2
        if length == 126 {
            guard buffer.count >= 4 else { return nil }
            length = Int(buffer[2]) << 8 | Int(buffer[3])
            offset = 4
        } else if length == 127 {
            guard buffer.count >= 10 else { return nil }
            length = (2..<10).reduce(0) { $0 << 8 | Int(buffer[$1]) }
            offset = 10
        }
        guard buffer.count >= offset + length else { return nil }
        let frame = Frame(fin: buffer[0] & 0x80 != 0, opcode: buffer[0] & 0x0F, payload: Array(buffer[offset..<offset + length]),
                          rsv1: buffer[0] & 0x40 != 0)
        buffer.removeSubrange(..<(offset + length))
        return frame
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw HTTPProbe.Failure(description: count == 0 ? "connection closed" : "recv timed out") }
        buffer += chunk[..<count]
    }

    /// Sets how long a receive waits before it throws.
    func setReceiveTimeout(_ seconds: Double) {
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    /// True when the server closed the TCP connection (after its close frame).
    func isClosedByPeer() -> Bool {
        do {
            while true { _ = try receive() }
        } catch {
            return "\(error)" == "connection closed"
        }
    }
}
