import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Assembles an HTTP connection's pipeline: the keep-alive timer (raw bytes, 408),
/// our request decoder, then the HTTP handler, which writes responses as bytes,
/// keeps pipelined requests in order and upgrades WebSocket handshakes with NIO's
/// WebSocket upgrader.
/// Built off the loop (the accept thread hands sockets over); used on it.
struct HTTPPipeline: Sendable {
    let configuration: HTTPServerConfiguration
    let observer: NIOLoopBound<any ConnectionObserver>
    let runner: NIOLoopBound<any RequestRunner>
    /// Where WebSocket callbacks run: the worker's loop.
    let executor: EventLoopTaskExecutor

    /// On the channel's event loop, before it becomes active.
    func configure(_ channel: Channel) throws {
        let settings = configuration.settings
        let sync = channel.pipeline.syncOperations
        let timer = KeepAliveTimer(keepAlive: .fromSeconds(settings.keepAlive), headerTimeout: .fromSeconds(settings.headerTimeout),
                                   observer: observer.value)
        try sync.addHandler(timer)
        let decoder = try sync.addHTTPDecoder(forwardingLeftovers: true)
        try sync.addHandler(HTTPConnectionHandler(configuration: configuration, observer: observer.value, runner: runner.value,
                                                  cycle: timer, decoder: decoder, webSocketUpgrader: webSocketUpgrader()))
    }

    private func webSocketUpgrader() -> NIOWebSocketServerUpgrader {
        let settings = configuration.settings
        let router = configuration.router
        let context = configuration.context
        let (observer, executor) = (self.observer, self.executor)
        let ping = TimeAmount.fromSeconds(settings.webSocketPing)
        let deflate = settings.webSocketDeflate
        return NIOWebSocketServerUpgrader(
            maxFrameSize: settings.maxWebSocketMessage,
            automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                // A handshake asked wrongly is not upgraded: the HTTP handler answers it.
                let path = String(RequestTarget.originForm(head.uri).split(separator: "?").first ?? "")
                let upgrade = router.webSocketHandlers(for: path) != nil && WebSocketHandshake.judge(head) == .upgrade
                var headers = HTTPHeaders()
                if deflate, let agreement = PerMessageDeflate.negotiate(head.headers) {
                    headers.add(name: "Sec-WebSocket-Extensions", value: agreement.header)
                }
                return channel.eventLoop.makeSucceededFuture(upgrade ? headers : nil)
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    let path = String(RequestTarget.originForm(head.uri).split(separator: "?").first ?? "")
                    guard let (handlers, parameters) = router.webSocketHandlers(for: path) else { return }
                    var request = Request(method: .get, target: head.uri, headers: HTTPFields(head.headers),
                                          remoteAddress: channel.remoteAddress?.ipAddress, eventLoop: channel.eventLoop,
                                          context: context)
                    request.pathParameters = parameters
                    let sync = channel.pipeline.syncOperations
                    // The same answer as the handshake's: the headers have not changed.
                    if deflate, let agreement = PerMessageDeflate.negotiate(head.headers) {
                        try sync.addHandler(WebSocketFrameValidator(deflate: true, text: false))
                        try sync.addHandler(PerMessageDeflateHandler(maxMessage: settings.maxWebSocketMessage,
                                                                     windowBits: agreement.serverMaxWindowBits))
                        try sync.addHandler(WebSocketFrameValidator(framing: false))
                    } else {
                        try sync.addHandler(WebSocketFrameValidator())
                    }
                    try sync.addHandler(NIOWebSocketFrameAggregator(
                        minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024,
                        maxAccumulatedFrameSize: settings.maxWebSocketMessage))
                    try sync.addHandler(WebSocketConnectionHandler(
                        socket: WebSocket(request: request, channel: channel), handlers: handlers,
                        pingInterval: ping, observer: observer.value, executor: executor))
                }
            })
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// Our request decoder (`RequestDecoder`, in place of NIO's): nothing else of
    /// NIO's HTTP pipeline, since `HTTPConnectionHandler` writes the bytes of its
    /// responses and keeps pipelined requests in order itself. `forwardingLeftovers`:
    /// the bytes behind a protocol switch go on to the new protocol.
    @discardableResult
    func addHTTPDecoder(forwardingLeftovers: Bool) throws -> RequestDecoder {
        let decoder = RequestDecoder(leftOverBytesStrategy: forwardingLeftovers ? .forwardBytes : .dropBytes)
        try addHandler(ByteToMessageHandler(decoder))
        return decoder
    }
}

extension TimeAmount {
    /// Seconds from the command line, which has checked them (0 or more, finite).
    static func fromSeconds(_ seconds: Double) -> TimeAmount {
        .nanoseconds(Int64(min(max(0, seconds), 1e9) * 1e9))
    }
}
