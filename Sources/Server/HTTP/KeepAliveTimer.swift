import NIOCore

/// Times a connection between requests, in front of the HTTP codec: an idle
/// keep-alive connection closes after `--keep-alive`; a client that sent part of a
/// request head but not all of it within `--header-timeout` gets a raw 408 (the
/// codec holds a half-parsed head, so the answer must not go through it). It also
/// counts the bytes received.
///
/// The HTTP handler behind the codec tells it where the connection is with the
/// outbound user events of `HTTPConnectionEvent`.
final class KeepAliveTimer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let timeoutResponse = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\nServer: pulse\r\n\r\n"

    private var clock = KeepAliveClock()
    private let keepAlive: TimeAmount
    private let headerTimeout: TimeAmount
    private let observer: any ConnectionObserver
    private var timers: [Scheduled<Void>] = []

    init(keepAlive: TimeAmount, headerTimeout: TimeAmount, observer: any ConnectionObserver) {
        self.keepAlive = keepAlive
        self.headerTimeout = headerTimeout
        self.observer = observer
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = Self.unwrapInboundIn(data).readableBytes
        clock.bytesRead(count)
        observer.bytesReceived(count)
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let event = event as? HTTPConnectionEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch event {
        case .requestStarted:
            clock.requestStarted()
            cancelTimers()
        case .responseEnded:
            clock.responseEnded()
            arm(context: context)
        }
        promise?.succeed(())
    }

    private func arm(context: ChannelHandlerContext) {
        cancelTimers()
        let loop = context.eventLoop.assumeIsolated()
        timers.append(loop.scheduleTask(in: keepAlive) { [self] in
            if clock.idleDeadlinePassed() { context.close(promise: nil) }
        })
        timers.append(loop.scheduleTask(in: headerTimeout) { [self] in
            guard clock.headerDeadlinePassed() else { return }
            observer.requestStarted()
            observer.requestFinished(status: 408, seconds: Double(headerTimeout.nanoseconds) / 1e9, bytesOut: 0)
            let answer = context.channel.allocator.buffer(string: Self.timeoutResponse)
            context.writeAndFlush(Self.wrapOutboundOut(answer)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        })
    }

    private func cancelTimers() {
        timers.forEach { $0.cancel() }
        timers.removeAll()
    }
}

/// What the HTTP handler tells the `KeepAliveTimer` in front of the codec.
enum HTTPConnectionEvent: Sendable {
    /// A request head arrived: no deadline applies until its response ends.
    case requestStarted
    /// A response ended and the connection stays open for the next request.
    case responseEnded
}

/// Where a connection is between requests, for its two deadlines.
///
///     waiting(bytes: 0) --bytes--> waiting(bytes: n) --head--> inRequest --response end--> waiting(bytes: 0)
///
/// The idle deadline closes only a connection that sent nothing since its last
/// response; the header deadline answers 408 only to one that sent part of a head.
struct KeepAliveClock: Equatable {
    enum State: Equatable {
        case waiting(bytes: Int)
        case inRequest
        case timedOut
    }

    private(set) var state = State.waiting(bytes: 0)

    mutating func bytesRead(_ count: Int) {
        if case .waiting(let bytes) = state { state = .waiting(bytes: bytes &+ count) }
    }

    mutating func requestStarted() {
        if case .waiting = state { state = .inRequest }
    }

    mutating func responseEnded() {
        if case .inRequest = state { state = .waiting(bytes: 0) }
    }

    /// True when the connection should close as idle.
    mutating func idleDeadlinePassed() -> Bool {
        guard state == .waiting(bytes: 0) else { return false }
        state = .timedOut
        return true
    }

    /// True when the client should get 408.
    mutating func headerDeadlinePassed() -> Bool {
        guard case .waiting(let bytes) = state, bytes > 0 else { return false }
        state = .timedOut
        return true
    }
}
