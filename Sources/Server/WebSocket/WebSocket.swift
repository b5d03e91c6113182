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

/// Frames in, events out: answers pings, echoes the closing handshake, keeps the
/// connection alive with pings of its own, maps oversized and malformed messages to
/// close codes 1009 and 1002, and feeds the app's handlers in order. The handshake's
/// decisions are `WebSocketStateMachine`'s.
final class WebSocketConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    enum Event: Sendable {
        case open, text(String), binary(ByteBuffer), close(WebSocketErrorCode?)
    }

    private let observer: any ConnectionObserver
    private let events: AsyncStream<Event>.Continuation
    private var machine = WebSocketStateMachine()
    private var pinger: RepeatedTask?
    private let pingInterval: TimeAmount

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
        if machine.connectionEnded() { events.yield(.close(nil)) }
        events.finish()
        observer.webSocketClosed(context.channel)
        // The HTTP handler that opened the connection's books left at the upgrade.
        observer.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            observer.bytesReceived(frame.length)
            events.yield(.text(String(buffer: frame.unmaskedData)))
        case .binary:
            observer.bytesReceived(frame.length)
            events.yield(.binary(frame.unmaskedData))
        case .ping:
            send(.pong, frame.unmaskedData, context: context)
        case .pong:
            machine.pongReceived()
        case .connectionClose:
            var data = frame.unmaskedData
            peerClosed(code: data.readWebSocketErrorCode(), context: context)
        default:
            close(code: .protocolError, context: context)
        }
    }

    private func peerClosed(code: WebSocketErrorCode?, context: ChannelHandlerContext) {
        switch machine.peerClosed(code: code) {
        case .none:
            return
        case .reportAndClose(let code):
            events.yield(.close(code))
            context.close(promise: nil)
        case .reportAndEcho(let code):
            events.yield(.close(code))
            var echo = context.channel.allocator.buffer(capacity: 2)
            echo.write(webSocketErrorCode: code ?? .normalClosure)
            context.writeAndFlush(Self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: echo)))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// Sends our close frame; the peer's answer (or the connection ending) finishes it.
    func close(code: WebSocketErrorCode, context: ChannelHandlerContext) {
        guard machine.closeRequested() else { return }
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: code)
        context.writeAndFlush(Self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        // A peer that never answers does not keep the connection forever.
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) { context.close(promise: nil) }
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
            close(code: .messageTooLarge, context: context)
        case is NIOWebSocketFrameAggregator.Error, is UnmaskedClientFrame:
            close(code: .protocolError, context: context)
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

/// RFC 6455 5.1: a server must close the connection on a frame the client did not
/// mask. NIO's decoder accepts them, so this check sits in front of the aggregator.
final class ClientMaskCheck: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard Self.unwrapInboundIn(data).maskKey != nil else {
            context.fireErrorCaught(UnmaskedClientFrame())
            return
        }
        context.fireChannelRead(data)
    }
}

struct UnmaskedClientFrame: Error {}
