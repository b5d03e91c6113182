import Foundation
import Glibc
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
                // The peer's credentials first: only the arbiter's own user, or root,
                // may steer it, whatever the socket file's mode says.
                peerUID(of: channel).flatMapThrowing { uid in
                    guard uid == getuid() || uid == 0 else {
                        try channel.pipeline.syncOperations.addHandler(RefusingHandler(uid: uid))
                        return
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: 1 << 16)))
                    try channel.pipeline.syncOperations.addHandler(ControlConnectionHandler(handle: handle))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
    }
}

/// The user on the other end of a unix socket (SO_PEERCRED).
private func peerUID(of channel: Channel) -> EventLoopFuture<uid_t> {
    guard let provider = channel as? SocketOptionProvider else {
        return channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
    }
    return provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        .map { (credentials: PeerCredentials) in credentials.uid }
}

/// `struct ucred` of <sys/socket.h>, which Glibc's module hides without _GNU_SOURCE:
/// three 32-bit fields, laid out alike in Swift.
private struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Answers another user's connection with one refusal line, then closes it.
final class RefusingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let uid: uid_t
    private var answered = false

    init(uid: uid_t) { self.uid = uid }

    /// Answers the first request rather than the connection, so that the client,
    /// which writes before it reads, finds the refusal instead of a closed socket.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        answered = true
        let refusal = ControlResponse.refused("uid \(uid) may not use this control socket: only uid \(getuid()), which runs the arbiter, and root may")
        var buffer = context.channel.allocator.buffer(capacity: 160)
        buffer.writeBytes((try? ControlCodec.encode(refusal)) ?? Array("{\"ok\":false}\n".utf8))
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
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
