import NIOCore

/// Times a connection between requests, in front of the HTTP codec: an idle
/// keep-alive connection closes after `--keep-alive`; a client that has started a
/// request head but not finished it within `--header-timeout` of its first byte gets
/// a raw 408 (the codec holds a half-parsed head, so the answer must not go through
/// it); a connection whose last response said close is closed after `--keep-alive`
/// even if its client stops reading. It also counts the bytes received.
///
/// The HTTP handler behind the codec tells it where the connection is, as its
/// `RequestCycleListener` (a direct call: these happen for every request);
/// `KeepAliveClock` decides.
final class KeepAliveTimer: ChannelDuplexHandler, RemovableChannelHandler, RequestCycleListener {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let timeoutResponse = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\nServer: pulse\r\n\r\n"

    private var clock = KeepAliveClock()
    private let keepAlive: TimeAmount
    private let headerTimeout: TimeAmount
    private let observer: any ConnectionObserver
    /// When the idle connection closes, and when a head begun must be complete.
    private var idleDeadline: NIODeadline?
    private var headerDeadline: NIODeadline?
    /// The one timer of the connection, and when it fires. It is not moved for every
    /// request: when it fires it looks at the deadlines and sets itself for the next,
    /// so a busy connection schedules about one timer per keep-alive period.
    private var timer: (task: Scheduled<Void>, at: NIODeadline)?
    /// When the connection last became idle: its last response ended, or it opened.
    private var idleSince = NIODeadline.uptimeNanoseconds(0)
    /// Set when the worker drains: an idle connection closes after `drainIdle`.
    private var draining = false
    /// How long a connection must have been idle for a draining worker to close it.
    /// A client sends its next request at once, so one idle this long is not about to.
    static let drainIdle = TimeAmount.seconds(1)

    init(keepAlive: TimeAmount, headerTimeout: TimeAmount, observer: any ConnectionObserver) {
        self.keepAlive = keepAlive
        self.headerTimeout = headerTimeout
        self.observer = observer
    }

    func channelActive(context: ChannelHandlerContext) {
        becameIdle(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Self.unwrapInboundIn(data)
        let count = bytes.readableBytes
        if clock.bytesRead(count) == .headStarted {
            idleDeadline = nil
            headerDeadline = context.eventLoop.now + headerTimeout
            ensureTimer(for: headerDeadline!, context: context)
        }
        observer.bytesReceived(count)
        context.fireChannelRead(data)
    }

    /// The handler's context, for the listener calls, which come from outside the pipeline's events.
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func requestStarted() {
        clock.requestStarted()
        (idleDeadline, headerDeadline) = (nil, nil)
    }

    func responseEnded(headBegun: Bool) {
        clock.responseEnded(headBegun: headBegun)
        guard let context else { return }
        becameIdle(context: context)
        if headBegun {
            // Part of the next head came while this response was pending: its clock runs from now.
            idleDeadline = nil
            headerDeadline = context.eventLoop.now + headerTimeout
            ensureTimer(for: headerDeadline!, context: context)
        }
    }

    func closing() {
        clock.closing()
        if let context { becameIdle(context: context) }
    }

    private func becameIdle(context: ChannelHandlerContext) {
        idleSince = context.eventLoop.now
        headerDeadline = nil
        idleDeadline = idleSince + (draining ? min(keepAlive, Self.drainIdle) : keepAlive)
        ensureTimer(for: idleDeadline!, context: context)
    }

    /// The timer fires by `deadline`: kept if it already does, moved if it fires later.
    private func ensureTimer(for deadline: NIODeadline, context: ChannelHandlerContext) {
        if let timer, timer.at <= deadline { return }
        timer?.task.cancel()
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in timerFired(context: context) }
        timer = (task, deadline)
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        let now = context.eventLoop.now
        if let deadline = headerDeadline, now >= deadline {
            headerDeadline = nil
            if clock.headerDeadlinePassed() { answerTimeout(context: context) }
        }
        if let deadline = idleDeadline, now >= deadline {
            if !context.channel.isWritable {
                // The last response is still going out to a slow reader: it is not idle yet.
                idleDeadline = now + min(keepAlive, Self.drainIdle)
            } else {
                idleDeadline = nil
                if clock.idleDeadlinePassed() { context.close(promise: nil) }
            }
        }
        if let next = [headerDeadline, idleDeadline].compactMap({ $0 }).min() { ensureTimer(for: next, context: context) }
    }

    private func answerTimeout(context: ChannelHandlerContext) {
        observer.requestStarted()
        observer.requestFinished(status: 408, seconds: Double(headerTimeout.nanoseconds) / 1e9, bytesOut: 0)
        let answer = context.channel.allocator.buffer(string: Self.timeoutResponse)
        context.writeAndFlush(Self.wrapOutboundOut(answer)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// The worker drains: a connection idle between requests closes once it has
    /// been idle a moment; a busy one is told to close by its next response.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? WorkerEvent, case .draining = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        draining = true
        if idleDeadline != nil {
            idleDeadline = max(context.eventLoop.now, idleSince + min(keepAlive, Self.drainIdle))
            ensureTimer(for: idleDeadline!, context: context)
        }
    }

    private func cancelTimer() {
        timer?.task.cancel()
        timer = nil
    }
}

/// What the HTTP handler tells the `KeepAliveTimer` in front of the codec. Called on
/// the connection's event loop.
protocol RequestCycleListener: AnyObject {
    /// A request head arrived: no deadline applies until its response ends.
    func requestStarted()
    /// A response ended and the connection stays open for the next request. Called
    /// before the end is written: writing it may deliver a pipelined request at once.
    /// `headBegun`: part of the next request's head arrived while the response was pending.
    func responseEnded(headBegun: Bool)
    /// The connection closes once its last response is written; if that stalls,
    /// the idle deadline closes it anyway.
    func closing()
}

/// Where a connection is between requests, for its two deadlines.
///
///     waiting(bytes: 0) --bytes--> waiting(bytes: n) --head--> inRequest --response end--> waiting(bytes: 0)
///            |                                                    |
///            +------------------- closing <----- response says close
///
/// The idle deadline closes a connection that sent nothing since its last response,
/// or one that is closing; the header deadline answers 408 only to one that has
/// sent part of a head. Either fires once.
struct KeepAliveClock: Equatable {
    enum State: Equatable {
        case waiting(bytes: Int)
        case inRequest
        case closing
        case timedOut
    }

    enum ReadResult: Equatable {
        case none
        /// The first bytes since the last response: the header deadline starts now.
        case headStarted
    }

    private(set) var state = State.waiting(bytes: 0)

    @discardableResult
    mutating func bytesRead(_ count: Int) -> ReadResult {
        guard case .waiting(let bytes) = state, count > 0 else { return .none }
        state = .waiting(bytes: bytes &+ count)
        return bytes == 0 ? .headStarted : .none
    }

    mutating func requestStarted() {
        if case .waiting = state { state = .inRequest }
    }

    mutating func responseEnded(headBegun: Bool = false) {
        if case .inRequest = state { state = .waiting(bytes: headBegun ? 1 : 0) }
    }

    mutating func closing() {
        if state != .timedOut { state = .closing }
    }

    /// True when the connection should close as idle.
    mutating func idleDeadlinePassed() -> Bool {
        guard state == .waiting(bytes: 0) || state == .closing else { return false }
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
