import NIOCore

/// Tracks a connection at the byte level, in front of whatever protocol speaks on it
/// (a hosted server's HTTP, or what pulse's pipeline switched to): opened, closed,
/// bytes in, and whether it became a WebSocket. At the graceful deadline a WebSocket
/// is sent a Close with 1001 (going away), whoever speaks WebSocket on it.
///
/// A connection that has sent nothing is closed after `silenceTimeout`, and soon after
/// a drain begins: before its first request no HTTP handler may be there to do it.
final class HostedConnectionTracker: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let observer: any ConnectionObserver
    private let silenceTimeout: TimeAmount?
    private var isWebSocket: Bool
    private var sawFirstWrite = false
    private var receivedBytes = false
    /// While pulse's pipeline switches protocols: what arrived, for the new handlers.
    private var held: [NIOAny]?

    /// How long a silent connection of a draining worker may still send its request.
    static let drainGrace = TimeAmount.milliseconds(250)

    /// `switching`: put in front of a connection pulse's own pipeline is switching to
    /// another protocol; already counted as opened, now counted as a WebSocket, and
    /// holding what arrives until `releaseHeld`.
    init(observer: any ConnectionObserver, silenceTimeout: TimeAmount?, switching: Bool = false) {
        self.observer = observer
        self.silenceTimeout = silenceTimeout
        self.isWebSocket = switching
        self.sawFirstWrite = switching
        self.held = switching ? [] : nil
    }

    func channelActive(context: ChannelHandlerContext) {
        observer.connectionOpened(context.channel)
        if let silenceTimeout { closeIfSilent(after: silenceTimeout, context: context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if isWebSocket { observer.webSocketClosed(context.channel) }
        observer.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receivedBytes = true
        observer.bytesReceived(Self.unwrapInboundIn(data).readableBytes)
        if held != nil {
            held?.append(data)
        } else {
            context.fireChannelRead(data)
        }
    }

    /// The new protocol's handlers are in place: they get what arrived meanwhile.
    func releaseHeld(context: ChannelHandlerContext) {
        guard let held else { return }
        self.held = nil
        for data in held { context.fireChannelRead(data) }
        if !held.isEmpty { context.fireChannelReadComplete() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = Self.unwrapOutboundIn(data)
        if isWebSocket, held == nil {
            // Frames only: HTTP responses (the 101 included) count their bodies themselves.
            observer.bytesSent(buffer.readableBytes)
        } else if !sawFirstWrite {
            // A hosted server upgrades only a connection's first request.
            sawFirstWrite = true
            if buffer.readableBytesView.starts(with: Self.switchingProtocols) {
                isWebSocket = true
                observer.webSocketOpened(context.channel)
            }
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event as? WorkerEvent {
        case .goingAway? where isWebSocket:
            // FIN + Close, 2 bytes of payload: 1001.
            let close = context.channel.allocator.buffer(bytes: [0x88, 0x02, 0x03, 0xE9])
            context.writeAndFlush(Self.wrapOutboundOut(close), promise: nil)
        case .draining?:
            closeIfSilent(after: Self.drainGrace, context: context)
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func closeIfSilent(after delay: TimeAmount, context: ChannelHandlerContext) {
        guard !receivedBytes else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: delay) {
            let (tracker, context) = bound.value
            if !tracker.receivedBytes && !tracker.isWebSocket { context.close(promise: nil) }
        }
    }

    private static let switchingProtocols = Array("HTTP/1.1 101 ".utf8)
}
