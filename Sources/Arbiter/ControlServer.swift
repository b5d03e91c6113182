import Foundation
import Mailbox
import NIOCore
import NIOPosix

/// Serves the control socket: newline-delimited JSON requests, each answered by one
/// line. Connections stay open, so a dashboard attached with `pulse top` can poll.
enum ControlServer {
    static func start(path: String, group: EventLoopGroup,
                      handle: @escaping @Sendable (ControlRequest) -> ControlResponse) -> EventLoopFuture<Channel> {
        ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: 1 << 16)))
                    try channel.pipeline.syncOperations.addHandler(ControlConnectionHandler(handle: handle))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
    }
}

final class ControlConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let handle: @Sendable (ControlRequest) -> ControlResponse

    init(handle: @escaping @Sendable (ControlRequest) -> ControlResponse) { self.handle = handle }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Self.unwrapInboundIn(data)
        let response: ControlResponse
        do {
            let request = try MailboxFraming.decode(ControlRequest.self, from: line.readableBytesView)
            response = handle(request)
        } catch {
            response = ControlResponse(ok: false, message: "malformed request: expected one JSON object per line")
        }
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeBytes((try? ControlCodec.encode(response)) ?? Array("{\"ok\":false}\n".utf8))
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// JSON for the control socket: snake_case keys, one object per line.
public enum ControlCodec {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        if pretty { encoder.outputFormatting = [.prettyPrinted, .sortedKeys] }
        var bytes = Array(try encoder.encode(value))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: Data(bytes))
    }
}
