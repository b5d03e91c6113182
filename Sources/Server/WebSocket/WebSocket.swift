import Foundation
import NIOCore
import NIOWebSocket

/// What a WebSocket endpoint does with its connections: called in order, one at a
/// time per connection, as tasks on the worker's event loop.
public struct WebSocketHandlers: Sendable {
    public var onOpen: @Sendable (WebSocket) async -> Void
    public var onText: @Sendable (WebSocket, String) async -> Void
    public var onBinary: @Sendable (WebSocket, ByteBuffer) async -> Void
    /// The close code the peer sent, or nil when the connection just ended.
    public var onClose: @Sendable (WebSocket, WebSocketErrorCode?) async -> Void

    public init(onOpen: @escaping @Sendable (WebSocket) async -> Void = { _ in },
                onText: @escaping @Sendable (WebSocket, String) async -> Void = { _, _ in },
                onBinary: @escaping @Sendable (WebSocket, ByteBuffer) async -> Void = { _, _ in },
                onClose: @escaping @Sendable (WebSocket, WebSocketErrorCode?) async -> Void = { _, _ in }) {
        self.onOpen = onOpen
        self.onText = onText
        self.onBinary = onBinary
        self.onClose = onClose
    }
}

/// One open WebSocket connection. Sends may come from any task; they are written
/// in order on the connection's event loop.
public final class WebSocket: Sendable {
    /// The request that opened the socket: path parameters, headers, cookies.
    public let request: Request
    let channel: Channel

    init(request: Request, channel: Channel) {
        self.request = request
        self.channel = channel
    }

    public func send(text: String) async throws {
        try await send(.text, ByteBuffer(string: text))
    }

    public func send(binary: ByteBuffer) async throws {
        try await send(.binary, binary)
    }

    public func ping(_ data: ByteBuffer = ByteBuffer()) async throws {
        try await send(.ping, data)
    }

    /// Sends a close frame with `code`; the connection ends when the peer answers.
    public func close(code: WebSocketErrorCode = .normalClosure) async throws {
        var data = channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: code)
        try await send(.connectionClose, data)
    }

    private func send(_ opcode: WebSocketOpcode, _ data: ByteBuffer) async throws {
        try await channel.writeAndFlush(WebSocketFrame(fin: true, opcode: opcode, data: data)).get()
    }
}

/// Frames in, events out: answers pings, answers the closing handshake after the
/// app has handled what came before it, keeps the connection alive with pings of
/// its own, maps oversized, malformed and non-UTF-8 messages to close codes 1009,
/// 1002 and 1007, and feeds the app's handlers in order. After our Close it takes
/// nothing but the peer's Close and lets nothing more out. The decisions are
/// `WebSocketStateMachine`'s.
final class WebSocketConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    enum Event: Sendable {
        case open, text(String), binary(ByteBuffer), close(WebSocketErrorCode?)
        /// Runs once the app has handled every earlier event.
        case then(@Sendable () -> Void)
    }

    private let observer: any ConnectionObserver
    private let events: AsyncStream<Event>.Continuation
    private var machine = WebSocketStateMachine()
    private var pinger: RepeatedTask?
    /// The fallback closes of the handshake, cancelled when the connection ends first.
    private var closeTimers: [Scheduled<Void>] = []
    private let pingInterval: TimeAmount
    /// How long the app may take to catch up before a peer's Close is answered anyway.
    static let replyDeadline = TimeAmount.seconds(5)

    /// `executor`: where the app's callbacks run, one at a time (the worker's loop).
    init(socket: WebSocket, handlers: WebSocketHandlers, pingInterval: TimeAmount,
         observer: any ConnectionObserver, executor: any TaskExecutor) {
        self.observer = observer
        self.pingInterval = pingInterval
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self)
        self.events = continuation
        Task(executorPreference: executor) {
            for await event in stream {
                switch event {
                case .open: await handlers.onOpen(socket)
                case .text(let text): await handlers.onText(socket, text)
                case .binary(let data): await handlers.onBinary(socket, data)
                case .close(let code): await handlers.onClose(socket, code)
                case .then(let action): action()
                }
            }
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        observer.webSocketOpened(context.channel)
        events.yield(.open)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        pinger = context.eventLoop.scheduleRepeatedTask(initialDelay: pingInterval, delay: pingInterval) { _ in
            let (handler, context) = bound.value
            handler.keepAlive(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pinger?.cancel()
        closeTimers.forEach { $0.cancel() }
        closeTimers.removeAll()
        if machine.connectionEnded() { events.yield(.close(nil)) }
        events.finish()
        observer.webSocketClosed(context.channel)
        // The HTTP handler that opened the connection's books left at the upgrade.
        observer.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        if frame.opcode == .connectionClose {
            peerClosed(WebSocketCloseRules.judge(frame.unmaskedData), context: context)
            return
        }
        guard machine.acceptsData else { return }   // after our Close: only the peer's Close counts
        switch frame.opcode {
        case .text:
            observer.bytesReceived(frame.length)
            events.yield(.text(String(decoding: frame.unmaskedData.readableBytesView, as: UTF8.self)))
        case .binary:
            observer.bytesReceived(frame.length)
            events.yield(.binary(frame.unmaskedData))
        case .ping:
            send(.pong, frame.unmaskedData, context: context)
        case .pong:
            machine.pongReceived()
        default:
            fail(.protocolError, context: context)
        }
    }

    /// The peer broke the protocol: nothing more of it is taken, the app answers
    /// what came before (Autobahn's strict reading), then our Close gives the reason.
    private func fail(_ code: WebSocketErrorCode, context: ChannelHandlerContext) {
        guard machine.violated() else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        events.yield(.then { loop.execute { bound.value.0.close(code: code, context: bound.value.1) } })
        closeTimers.append(context.eventLoop.assumeIsolated().scheduleTask(in: Self.replyDeadline) { [self] in
            close(code: code, context: context)
        })
    }

    private func peerClosed(_ verdict: WebSocketCloseRules.Verdict, context: ChannelHandlerContext) {
        switch machine.peerClosed(verdict) {
        case .none:
            return
        case .reportAndClose(let code):
            events.yield(.close(code))
            context.close(promise: nil)
        case .reportThenReply(let code, let reply):
            // The reply waits for the app to handle (and answer) what came before it.
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            events.yield(.then { loop.execute { bound.value.0.sendReply(reply, context: bound.value.1) } })
            events.yield(.close(code))
            closeTimers.append(context.eventLoop.assumeIsolated().scheduleTask(in: Self.replyDeadline) { [self] in
                sendReply(reply, context: context)
            })
        }
    }

    private func sendReply(_ code: UInt16?, context: ChannelHandlerContext) {
        guard machine.replyDue() else { return }
        var data = context.channel.allocator.buffer(capacity: 2)
        if let code { data.writeInteger(code) }
        context.writeAndFlush(Self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
            .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        closeEventually(context: context)
    }

    /// A peer that stops reading does not keep the connection forever.
    private func closeEventually(context: ChannelHandlerContext) {
        closeTimers.append(context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) { context.close(promise: nil) })
    }

    /// Sends our close frame; the peer's answer (or the connection ending) finishes it.
    func close(code: WebSocketErrorCode, context: ChannelHandlerContext) {
        guard machine.closeRequested() else { return }
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: code)
        context.writeAndFlush(Self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        closeEventually(context: context)   // a peer that never answers
    }

    /// The app's frames pass only while the socket may still speak; its own Close
    /// (`WebSocket.close`) starts the handshake as ours would.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if Self.unwrapOutboundIn(data).opcode == .connectionClose {
            guard machine.closeRequested() else {
                promise?.fail(WebSocketClosedError())
                return
            }
            context.write(data, promise: promise)
            closeEventually(context: context)
            return
        }
        guard machine.acceptsWrites else {
            promise?.fail(WebSocketClosedError())
            return
        }
        context.write(data, promise: promise)
    }

    private func keepAlive(context: ChannelHandlerContext) {
        switch machine.pingTimerFired() {
        case .none: break
        case .sendPing: send(.ping, context.channel.allocator.buffer(capacity: 0), context: context)
        case .close(let code): close(code: code, context: context)
        }
    }

    private func send(_ opcode: WebSocketOpcode, _ data: ByteBuffer, context: ChannelHandlerContext) {
        context.writeAndFlush(Self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: opcode, data: data)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error {
        case NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge,
             NIOWebSocketFrameAggregator.Error.tooManyFragments:
            fail(.messageTooLarge, context: context)
        case WebSocketViolation.invalidUTF8, DeflateViolation.corrupt:
            fail(.dataInconsistentWithMessage, context: context)
        case DeflateViolation.tooLarge:
            fail(.messageTooLarge, context: context)
        case is NIOWebSocketFrameAggregator.Error, is WebSocketViolation:
            fail(.protocolError, context: context)
        case is NIOWebSocketError:
            break   // NIO's protocol error handler has answered 1002 or 1009 and closes
        default:
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? WorkerEvent, case .goingAway = event {
            close(code: .goingAway, context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// The socket is closing or closed: nothing more is sent on it.
public struct WebSocketClosedError: Error, Sendable {}

/// What RFC 6455 forbids a client to send, found on a frame as it arrives.
enum WebSocketViolation: Error, Sendable {
    /// 5.1: a client masks every frame.
    case unmasked
    /// 5.2: a reserved bit without a negotiated extension.
    case reservedBits
    /// 8.1: text that is not UTF-8, found as its bytes arrive.
    case invalidUTF8
}

/// The checks NIO's decoder leaves to the server, on each frame before the
/// aggregator: masked, no reserved bits (RSV1 on a message's first frame when
/// permessage-deflate was agreed), text UTF-8 across fragments (so an invalid byte
/// fails the message at once, not after the rest of it). With permessage-deflate
/// two instances run: the framing checks before the inflater, the UTF-8 check after
/// it. After the first violation nothing more is passed on.
final class WebSocketFrameValidator: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    private let framing: Bool
    private let deflate: Bool
    private let checksText: Bool
    /// Present while a text message's fragments arrive.
    private var text: UTF8Validator?
    private var failed = false

    init(framing: Bool = true, deflate: Bool = false, text: Bool = true) {
        self.framing = framing
        self.deflate = deflate
        checksText = text
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After a violation only the peer's Close goes on: it completes the handshake.
        guard !failed || Self.unwrapInboundIn(data).opcode == .connectionClose else { return }
        if !failed, let violation = check(Self.unwrapInboundIn(data)) {
            failed = true
            context.fireErrorCaught(violation)
            return
        }
        context.fireChannelRead(data)
    }

    private func check(_ frame: WebSocketFrame) -> WebSocketViolation? {
        if framing {
            guard frame.maskKey != nil else { return .unmasked }
            let startsMessage = frame.opcode == .text || frame.opcode == .binary
            guard !frame.rsv2, !frame.rsv3, !frame.rsv1 || (deflate && startsMessage) else { return .reservedBits }
        }
        guard checksText else { return nil }
        switch frame.opcode {
        case .text: text = UTF8Validator()
        case .binary: text = nil
        case .continuation: break
        default: return nil   // control frames: the handler and NIO judge them
        }
        guard var validator = text else { return nil }
        guard validator.feed(frame.unmaskedData.readableBytesView) else { return .invalidUTF8 }
        if frame.fin {
            text = nil
            return validator.isComplete ? nil : .invalidUTF8
        }
        text = validator
        return nil
    }
}
