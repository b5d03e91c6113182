import Foundation
import Glibc
import Testing

extension HeavyTests {
    /// RFC 6455 at the edges, with raw frames over a real socket to the real binary,
    /// one test per behaviour. `/ws/echo` of the test app greets, then echoes.
    @Suite(.blockingAllowed) struct WebSocketConformanceTests {
        static func server() async throws -> PulseServer {
            let server = try PulseServer(arguments: ["-w", "1", "--data-store", "redis://127.0.0.1:9/0"])
            try await server.waitForReady(1)
            return server
        }

        /// An open socket past its greeting.
        static func socket(_ server: PulseServer) async throws -> WebSocketProbe {
            let port = try server.port()
            return try await onThread {
                let socket = try WebSocketProbe(port: port, path: "/ws/echo")
                socket.setReceiveTimeout(30)   // only a failing case waits it out
                guard try socket.receiveSkippingPings().text == "hello stranger" else { throw HTTPProbe.Failure(description: "no greeting") }
                return socket
            }
        }

        /// The frames the server sends until it closes the connection (or is quiet for 30 s).
        static func framesUntilClosed(_ socket: WebSocketProbe) async throws -> [WebSocketProbe.Frame] {
            try await onThread {
                var frames: [WebSocketProbe.Frame] = []
                while let frame = try? socket.receive() { frames.append(frame) }
                return frames
            }
        }

        @Test func reservedBitsWithoutAnExtensionClose1002() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let socket = try await Self.socket(server)
            try socket.send(opcode: 0x40 | 0x1, Array("hi".utf8))                // RSV1 on a text frame
            let frames = try await Self.framesUntilClosed(socket)
            #expect(frames.map(\.opcode) == [0x8] && frames.first?.closeCode == 1002)
        }

        @Test func invalidUTF8FailsAtTheFirstBadFragmentWith1007() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let socket = try await Self.socket(server)
            try socket.send(opcode: 0x1, [0xCE, 0xBA, 0xF4, 0x90], fin: false)   // U+110000 starts here: never valid
            let frames = try await Self.framesUntilClosed(socket)                  // no more fragments sent
            #expect(frames.map(\.opcode) == [0x8] && frames.first?.closeCode == 1007)
        }

        @Test func textSplitMidCodePointArrivesByteExact() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let socket = try await Self.socket(server)
            let text = Array("κόσμε 🌍 é".utf8)
            try socket.send(opcode: 0x1, Array(text[0..<3]), fin: false)
            try socket.send(opcode: 0x0, Array(text[3..<11]), fin: false)
            try socket.send(opcode: 0x0, Array(text[11...]))
            let echo = try await onThread { try socket.receiveSkippingPings() }
            #expect(echo.opcode == 0x1 && echo.payload == text)
            try socket.send(opcode: 0x1, [0x61, 0xE2, 0x82])                      // ends mid code point
            let frames = try await Self.framesUntilClosed(socket)
            #expect(frames.last?.closeCode == 1007)
        }

        @Test func malformedClosesAreAnsweredWith1002() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let bad: [[UInt8]] = [[0x03], [0x00, 0x00], [0x03, 0xE7], [0x03, 0xEC], [0x03, 0xED], [0x03, 0xEE], [0x03, 0xF7],
                                  [0x03, 0xF8], [0x0B, 0xB7], [0x03, 0xE8, 0xFF, 0xFE]]   // 1 byte, 0, 999, 1004-1006, 1015, 1016, 2999, bad reason
            for payload in bad {
                let socket = try await Self.socket(server)
                try socket.send(opcode: 0x8, payload)
                let frames = try await Self.framesUntilClosed(socket)
                #expect(frames.map(\.opcode) == [0x8] && frames.first?.closeCode == 1002, "close payload \(payload)")
            }
        }

        @Test func wellFormedClosesAreEchoedAnd1005IsNeverSent() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            for (payload, echoed) in [([UInt8]([0x0F, 0xA0]), 4000), ([0x03, 0xE8] + Array("bye".utf8), 1000), ([0x03, 0xF3], 1011)] {
                let socket = try await Self.socket(server)
                try socket.send(opcode: 0x8, payload)
                let frames = try await Self.framesUntilClosed(socket)
                #expect(frames.map(\.opcode) == [0x8] && frames.first?.closeCode == echoed)
            }
            let socket = try await Self.socket(server)
            try socket.send(opcode: 0x8, [])
            let frames = try await Self.framesUntilClosed(socket)
            #expect(frames.map(\.opcode) == [0x8] && frames.first?.payload == [])   // no code: an empty close, never 1005
        }

        @Test func aMessageBeforeTheCloseIsEchoedBeforeTheCloseIsAnswered() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let socket = try await Self.socket(server)
            try socket.send(opcode: 0x1, Array("last words".utf8))
            try socket.send(opcode: 0x8, [0x03, 0xE8])
            let frames = try await Self.framesUntilClosed(socket)
            #expect(frames.map(\.opcode) == [0x1, 0x8])
            #expect(frames.first?.text == "last words" && frames.last?.closeCode == 1000)
        }

        /// Autobahn 3.2's strict reading: a message before the violation is answered first.
        @Test func aMessageBeforeAViolationIsEchoedBeforeThe1002() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let socket = try await Self.socket(server)
            try socket.send(opcode: 0x1, Array("first".utf8))
            try socket.send(opcode: 0x20 | 0x1, Array("bad".utf8))                 // RSV2
            try socket.send(opcode: 0x1, Array("after".utf8))                      // never echoed
            let frames = try await Self.framesUntilClosed(socket)
            #expect(frames.map(\.opcode) == [0x1, 0x8])
            #expect(frames.first?.text == "first" && frames.last?.closeCode == 1002)
        }

        @Test func afterOurCloseNothingMoreIsProcessedOrSent() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let socket = try await Self.socket(server)
            try socket.send(opcode: 0x40 | 0x1, Array("bad".utf8))                 // we answer 1002...
            try socket.send(opcode: 0x9, Array("ping?".utf8))                      // ...then no pong
            try socket.send(opcode: 0x1, Array("echo?".utf8))                      // ...and no echo
            let frames = try await Self.framesUntilClosed(socket)
            #expect(frames.map(\.opcode) == [0x8] && frames.first?.closeCode == 1002)
        }

        // MARK: - The opening handshake

        static func handshake(_ server: PulseServer, method: String = "GET", version: String = "HTTP/1.1",
                              key: String? = "dGhlIHNhbXBsZSBub25jZQ==", wsVersion: String? = "13") async throws -> String {
            var head = "\(method) /ws/echo \(version)\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            if let key { head += "Sec-WebSocket-Key: \(key)\r\n" }
            if let wsVersion { head += "Sec-WebSocket-Version: \(wsVersion)\r\n" }
            if method == "POST" { head += "Content-Length: 0\r\n" }
            return try await HTTPConformanceTests.exchange(server, head + "\r\n").text
        }

        @Test func onlyAWellFormedGETOverHTTP11Upgrades() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            #expect(try await Self.handshake(server).hasPrefix("HTTP/1.1 101"))
            #expect(try await Self.handshake(server, method: "POST").hasPrefix("HTTP/1.1 405"))
            #expect(try await Self.handshake(server, version: "HTTP/1.0").hasPrefix("HTTP/1.0 400"))
            #expect(try await Self.handshake(server, key: nil).hasPrefix("HTTP/1.1 400"))
            #expect(try await Self.handshake(server, key: "c2hvcnQ=").hasPrefix("HTTP/1.1 400"))        // 5 bytes, not 16
            let version = try await Self.handshake(server, wsVersion: "8")
            #expect(version.hasPrefix("HTTP/1.1 426") && version.contains("Sec-WebSocket-Version: 13") && version.contains("Upgrade: websocket"))
            let plain = try await HTTPConformanceTests.exchange(server, "GET /ws/echo HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            #expect(plain.text.hasPrefix("HTTP/1.1 426") && plain.text.lowercased().contains("upgrade: websocket"))
        }
    }
}
