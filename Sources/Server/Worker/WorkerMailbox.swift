import Logging
import Mailbox
import NIOCore
import NIOPosix

/// The worker's end of its mailbox: messages from the arbiter in, reports out. The
/// mailbox closing means the arbiter died. Confined to the worker's event loop.
struct WorkerMailbox {
    /// Nil until it opened, and again once the arbiter is gone.
    var channel: Channel?

    /// Opens the mailbox on `fd`; `received` and `closed` run on the loop.
    static func open(fd: Int32, loop: EventLoop, logger: Logger,
                     received: @escaping @Sendable (ArbiterMessage) -> Void,
                     closed: @escaping @Sendable () -> Void) -> EventLoopFuture<Channel> {
        NIOPipeBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(
                        WorkerMailboxHandler(logger: logger, received: received, closed: closed))
                }
            }
            .takingOwnershipOfDescriptor(inputOutput: fd)
    }

    func send(_ message: WorkerMessage) {
        guard let channel, let bytes = try? MailboxFraming.encode(message) else { return }
        channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
    }
}

/// Hands arbiter messages to the worker; the mailbox closing means the arbiter died.
final class WorkerMailboxHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let logger: Logger
    let received: @Sendable (ArbiterMessage) -> Void
    let closed: @Sendable () -> Void

    init(logger: Logger, received: @escaping @Sendable (ArbiterMessage) -> Void, closed: @escaping @Sendable () -> Void) {
        self.logger = logger
        self.received = received
        self.closed = closed
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let message = try? MailboxFraming.decode(ArbiterMessage.self, from: Self.unwrapInboundIn(data).readableBytesView) else {
            logger.warning("unreadable message from the arbiter")
            return
        }
        received(message)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
