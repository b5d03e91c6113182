import Foundation
import Mailbox
import PulseControl
import NIOCore
import NIOPosix

/// Serves the control socket: newline-delimited JSON requests, each answered by one
/// line. Connections stay open, so a dashboard attached with `pulse top` can poll.
enum ControlServer {
    static func start(path: String, group: EventLoopGroup,
                      handle: @escaping @Sendable (ControlCommand, String) -> ControlResponse) -> EventLoopFuture<Channel> {
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
    let handle: @Sendable (ControlCommand, String) -> ControlResponse

    init(handle: @escaping @Sendable (ControlCommand, String) -> ControlResponse) { self.handle = handle }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Self.unwrapInboundIn(data)
        let response = switch ControlCodec.decodeCommand(from: line.readableBytesView) {
        case .success(let (command, origin)): handle(command, origin)
        case .failure(let refusal): ControlResponse.refused(refusal.description)
        }
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeBytes((try? ControlCodec.encode(response)) ?? Array("{\"ok\":false}\n".utf8))
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
