#if Hummingbird
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Pulsar

/// Tracks the requests of a connection Hummingbird serves, between its HTTP codec and
/// its connection state handler: each request's status, latency and body size, busy
/// or idle, and the drain.
///
/// Draining: a connection busy with a request answers it with `Connection: close`;
/// an idle one is closed only after a moment without a request, so a keep-alive
/// client whose next request is already on the wire is answered (and told to
/// reconnect) rather than reset.
final class HostedRequestTracker: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let host: HostingWorker
    /// The requests not yet answered: more than one when pipelined.
    private var started = CircularBuffer<HostedRequest>(initialCapacity: 2)
    private var status = 0
    private var bytesOut = 0
    private var draining = false

    /// How long an idle connection of a draining worker waits for a request already sent.
    static let idleGrace = TimeAmount.milliseconds(250)

    init(host: HostingWorker) { self.host = host }

    func handlerAdded(context: ChannelHandlerContext) {
        // Added after the drain began (the first request of an upgradable connection).
        if host.isDraining { beginDraining(context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let request) = Self.unwrapInboundIn(data) {
            started.append(host.requestStarted(on: context.channel, method: request.method.rawValue, target: request.path ?? "/",
                                               referer: request.headerFields[.referer], userAgent: request.headerFields[.userAgent]))
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch Self.unwrapOutboundIn(data) {
        case .head(var response) where response.status.kind != .informational:
            status = response.status.code
            bytesOut = 0
            if draining || host.isDraining {
                response.headerFields[.connection] = "close"
                context.write(Self.wrapOutboundOut(.head(response)), promise: promise)
                return
            }
        case .body(let buffer):
            bytesOut += buffer.readableBytes
        case .end:
            finishRequest(context: context, status: status)
        default:
            break
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Clients that left before their responses ended: 499, as nginx logs them.
        bytesOut = 0
        while !started.isEmpty { finishRequest(context: context, status: 499) }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case WorkerEvent.draining? = event as? WorkerEvent {
            beginDraining(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func finishRequest(context: ChannelHandlerContext, status: Int) {
        guard let first = started.popFirst() else { return }
        host.requestFinished(first, on: context.channel, status: status, bytesOut: bytesOut, idle: started.isEmpty)
    }

    private func beginDraining(context: ChannelHandlerContext) {
        guard !draining else { return }
        draining = true
        // Hummingbird's state handler closes an idle connection at once, a busy one
        // after its response: asked now when busy, after the grace when idle.
        if !started.isEmpty {
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        } else {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: Self.idleGrace) {
                bound.value.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            }
        }
    }
}
#endif
