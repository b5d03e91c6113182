import Mailbox
import NIOCore
import PulsarRuntime

/// What a worker serves: an HTTP app, or connections of another protocol.
public enum Serving: Sendable {
    case http(App)
    case connections(any ConnectionServing)
    /// HTTP spoken by another server (Hummingbird's), its handlers scheduled by pulse.
    case hosted(any HostedServing)

    /// Whether requests go through the worker's execution pools (and the mode applies).
    var schedulesRequests: Bool {
        switch self {
        case .http, .hosted: true
        case .connections: false
        }
    }
}

/// A protocol other than HTTP served by a supervised worker (the data store's RESP).
/// The worker still accepts, heartbeats and drains; this decides what a connection does.
public protocol ConnectionServing: Sendable {
    /// Once, before the worker reports ready.
    func boot(on loop: EventLoop) async throws
    /// On the connection's event loop, before it becomes active.
    func configure(_ channel: Channel) throws
    /// On the event loop, before each heartbeat: the figures this protocol keeps.
    func fill(_ report: inout WorkerReport)
}

/// Keeps the worker's connection count for protocols other than HTTP, so drains see them.
final class ConnectionBookkeeper: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let observer: any ConnectionObserver

    init(observer: any ConnectionObserver) { self.observer = observer }

    func channelActive(context: ChannelHandlerContext) {
        observer.connectionOpened(context.channel)
        // Idle between requests from the start: a drain closes it rather than
        // waiting out the grace period for a client that may never leave.
        observer.connection(context.channel, busy: false)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        observer.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        observer.bytesReceived(Self.unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }
}
