import Foundation
import TestSupport
import Testing

extension HeavyTests {
    /// permessage-deflate (RFC 7692) against the real binary with raw frames: agreed
    /// only with `--websocket-deflate`, compressed messages echoed compressed, the
    /// reserved bit refused where the extension does not allow it.
    @Suite(.blockingAllowed) struct WebSocketDeflateTests {
        static let offer = ["Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"]

        static func server(deflate: Bool) async throws -> PulseServer {
            let server = try PulseServer(arguments: ["-w", "1", "--data-store", "redis://127.0.0.1:9/0"] + (deflate ? ["--websocket-deflate"] : []))
            try await server.waitForReady(1)
            return server
        }

        static func socket(_ server: PulseServer) async throws -> WebSocketProbe {
            let port = try server.port()
            return try await onThread {
                let socket = try WebSocketProbe(port: port, path: "/ws/echo", headers: offer)
                socket.setReceiveTimeout(30)   // only a failing case waits it out
                guard try socket.receiveSkippingPings().text == "hello stranger" else { throw HTTPProbe.Failure(description: "no greeting") }
                return socket
            }
        }

        @Test func compressedMessagesAreEchoedCompressed() async throws {
            let server = try await Self.server(deflate: true)
            defer { server.shutdown() }
            let socket = try await Self.socket(server)
            #expect(socket.responseHead.contains("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"))
            let text = String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 20) + "é ✓"
            try socket.send(opcode: 0x40 | 0x1, try ClientDeflate.compress(Array(text.utf8)))          // RSV1: compressed
            let echo = try await onThread { try socket.receiveSkippingPings() }
            #expect(echo.rsv1 && echo.opcode == 0x1 && echo.payload.count < text.utf8.count)
            #expect(String(decoding: try ClientDeflate.inflate(echo.payload), as: UTF8.self) == text)
            // Uncompressed messages still work, and short answers go uncompressed.
            try socket.send(text: "short")
            let short = try await onThread { try socket.receiveSkippingPings() }
            #expect(!short.rsv1 && short.text == "short")
        }

        @Test func invalidUTF8InsideACompressedMessageIs1007AndRSV1OnAContinuationIs1002() async throws {
            let server = try await Self.server(deflate: true)
            defer { server.shutdown() }
            let bad = try await Self.socket(server)
            try bad.send(opcode: 0x40 | 0x1, try ClientDeflate.compress(Array("caf\u{E9}".utf8)))     // valid deflate of valid text...
            _ = try await onThread { try bad.receiveSkippingPings() }
            let latin1 = [UInt8](repeating: 0xE9, count: 80)                      // ...and of bytes that are not UTF-8
            try bad.send(opcode: 0x40 | 0x1, try ClientDeflate.compress(latin1))
            let closing = try await onThread { try bad.receiveSkippingPings() }
            #expect(closing.closeCode == 1007)

            let fragmented = try await Self.socket(server)
            try fragmented.send(opcode: 0x1, Array("part".utf8), fin: false)
            try fragmented.send(opcode: 0x40 | 0x0, Array("more".utf8))           // RSV1 on a continuation
            let refusal = try await onThread { try fragmented.receiveSkippingPings() }
            #expect(refusal.closeCode == 1002)
        }

        @Test func withoutTheFlagTheOfferIsIgnored() async throws {
            let server = try await Self.server(deflate: false)
            defer { server.shutdown() }
            let socket = try await Self.socket(server)
            #expect(!socket.responseHead.lowercased().contains("sec-websocket-extensions"))
            try socket.send(opcode: 0x40 | 0x1, try ClientDeflate.compress(Array(repeating: UInt8(ascii: "x"), count: 100)))
            let refusal = try await onThread { try socket.receiveSkippingPings() }
            #expect(refusal.closeCode == 1002)
        }
    }
}
