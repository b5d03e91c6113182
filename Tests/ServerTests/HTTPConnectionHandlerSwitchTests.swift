import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Testing
@testable import Server

/// A response that switches protocols after the app answered (how Vapor's WebSocket
/// routes hand their connection over), on the pipeline a worker builds.
@Suite struct HTTPConnectionHandlerSwitchTests {
    /// Text frames the new protocol's handler received.
    final class ReceivedFrames: ChannelInboundHandler, Sendable {
        typealias InboundIn = WebSocketFrame
        let texts = NIOLockedValueBox<[String]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let text = String(buffer: Self.unwrapInboundIn(data).unmaskedData)
            texts.withLockedValue { $0.append(text) }
        }
    }

    let frames = ReceivedFrames()

    /// A router whose `/ws` answers 101 with a WebSocket upgrader, as the Vapor bridge does.
    var router: Router {
        var router = Router()
        let frames = self.frames
        router.fallback { _ in
            var response = Response(status: .switchingProtocols)
            response.switchProtocols = {
                NIOWebSocketServerUpgrader(
                    shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture([:]) },
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(frames) }
                    })
            }
            return response
        }
        return router
    }

    static let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    static let upgrade = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\(key)\r\n"
    /// A text frame as a client sends it: masked.
    func maskedText(_ text: String) -> ByteBuffer {
        let mask: [UInt8] = [1, 2, 3, 4]
        let payload = Array(text.utf8)
        return ByteBuffer(bytes: [0x81, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $1 ^ mask[$0 % 4] })
    }

    @Test func anUpgradeRequestIsSwitchedAndTheNewProtocolGetsItsBytes() async throws {
        let connection = try await HTTPTestConnection(router: router)
        try await connection.send(Self.upgrade)
        let head = try await connection.output { $0.contains("\r\n\r\n") }
        #expect(head.hasPrefix("HTTP/1.1 101 Switching Protocols"))
        #expect(head.lowercased().contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="))
        try await connection.channel.writeInbound(maskedText("hi"))
        #expect(try await connection.eventually { frames.texts.withLockedValue { $0 } == ["hi"] })
        // No HTTP handler is left on the connection, and the books moved to the tracker.
        #expect(try await connection.channel.testingEventLoop.submit {
            (try? connection.channel.pipeline.syncOperations.handler(type: HTTPConnectionHandler.self)) == nil
        }.get())
        let books = connection.observer.books.withLockedValue { $0 }
        #expect(books.statuses == [101] && books.webSockets == 1 && books.closed == 0)
        try await connection.channel.close()
        #expect(try await connection.eventually { connection.observer.books.withLockedValue { $0.closed == 1 && $0.webSockets == 0 } })
    }

    @Test func aRequestThatDoesNotAskToUpgradeGets426AndTheConnectionGoesOn() async throws {
        let connection = try await HTTPTestConnection(router: router)
        try await connection.send("GET /ws HTTP/1.1\r\nHost: x\r\n\(Self.key)\r\nGET /ws HTTP/1.1\r\nHost: x\r\n\(Self.key)\r\n")
        let text = try await connection.output { $0.occurrences(of: "HTTP/1.1 426") == 2 }
        #expect(text.occurrences(of: "HTTP/1.1 426") == 2 && text.lowercased().contains("upgrade: websocket"), "\(text)")
        #expect(connection.isActive)
        #expect(connection.observer.books.withLockedValue { $0.webSockets } == 0)
    }

    /// A client that did not wait for the 101 (RFC 6455 4.1 says it must): what it
    /// sent behind the handshake belongs to the new protocol, as NIO's upgrade handler
    /// has it. A frame sent in the same write reaches the WebSocket's handler.
    @Test func aFrameSentWithTheHandshakeReachesTheNewProtocol() async throws {
        let connection = try await HTTPTestConnection(router: router)
        var bytes = ByteBuffer(string: Self.upgrade)
        var frame = maskedText("early")
        bytes.writeBuffer(&frame)
        try await connection.channel.writeInbound(bytes)
        let head = try await connection.output { $0.contains("\r\n\r\n") }
        #expect(head.hasPrefix("HTTP/1.1 101"))
        #expect(try await connection.eventually { frames.texts.withLockedValue { $0 } == ["early"] })
    }

    /// HTTP pipelined behind the handshake is not answered as HTTP: it is the new
    /// protocol's (and not a frame of it).
    @Test func aRequestPipelinedBehindTheUpgradeIsNotAnsweredAsHTTP() async throws {
        let connection = try await HTTPTestConnection(router: router)
        try await connection.send(Self.upgrade + "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try await connection.output { $0.contains("\r\n\r\n") }
        #expect(head.hasPrefix("HTTP/1.1 101"))
        let rest = try await connection.output { $0.contains("HTTP/1.1") || !connection.isActive }
        #expect(!rest.contains("HTTP/1.1"), "\(rest)")
        #expect(frames.texts.withLockedValue { $0 }.isEmpty)
        try? await connection.channel.close()
        #expect(try await connection.eventually { connection.observer.books.withLockedValue { $0.closed == 1 && $0.webSockets == 0 } })
    }

    @Test func aHandshakeTheUpgraderRefusesGets400() async throws {
        let connection = try await HTTPTestConnection(router: router)
        try await connection.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                  + "Sec-WebSocket-Version: 13\r\n\r\n")
        let text = try await connection.output { $0.contains("\r\n\r\n") }
        #expect(text.hasPrefix("HTTP/1.1 400"), "\(text)")
        #expect(try await connection.eventually { !connection.isActive })
        #expect(try await connection.eventually { connection.observer.books.withLockedValue { $0.closed == 1 && $0.webSockets == 0 } })
    }
}
