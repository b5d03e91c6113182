import HTTPTypes
import NIOCore
import NIOHTTP1

extension HTTPConnectionHandler {
    /// Whether a request asks to switch protocols (RFC 9110 7.8): an `Upgrade` field,
    /// named in `Connection`. Without it a parser reads on past the request.
    static func asksToUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.headers.contains(name: "upgrade")
            && head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
    }

    /// Hands the connection to another protocol after the app answered 101 with an
    /// upgrader (RFC 9110 15.2.2), as NIO's upgrade handler does but after the app
    /// rather than before it: a tracker goes in front and holds what arrives, the
    /// upgrader builds the response headers, the 101 is written, the HTTP handlers
    /// leave, the upgrader's take the connection and get what was held.
    func switchProtocols(_ upgrader: any HTTPServerProtocolUpgrader, for head: HTTPRequestHead, started: NIODeadline,
                         context: ChannelHandlerContext) {
        let tracker = HostedConnectionTracker(observer: observer, silenceTimeout: nil, switching: true)
        do {
            try context.pipeline.syncOperations.addHandler(tracker, position: .first)
        } catch {
            context.close(promise: nil)   // the channel is gone: its close is counted here
            return
        }
        // From here the tracker counts the close, and the WebSocket.
        switching = true
        switchingForApp = true
        observer.webSocketOpened(context.channel)
        // The upgrader is not Sendable: it stays on this loop with the handler.
        let bound = NIOLoopBound((self, context, upgrader, tracker), eventLoop: context.eventLoop)
        upgrader.buildUpgradeResponse(channel: context.channel, upgradeRequest: head, initialResponseHeaders: [:])
            .hop(to: context.eventLoop)
            .whenComplete { result in
                let (handler, context, upgrader, tracker) = bound.value
                switch result {
                case .success(let headers) where context.channel.isActive:
                    handler.completeSwitch(upgrader, tracker: tracker, headers: headers, for: head, started: started,
                                           context: context)
                case .success:
                    break
                case .failure(let error):
                    handler.configuration.logger.debug("refusing a protocol switch: \(error)")
                    var refusal = Response.text("Bad Request\n", status: .badRequest)
                    refusal.headers[.connection] = "close"
                    handler.writeComplete(refusal, for: head, started: started, context: context)
                    context.close(promise: nil)
                }
            }
    }

    private func completeSwitch(_ upgrader: any HTTPServerProtocolUpgrader, tracker: HostedConnectionTracker,
                                headers: HTTPHeaders, for head: HTTPRequestHead, started: NIODeadline,
                                context: ChannelHandlerContext) {
        let channel = context.channel
        writeSwitchingProtocols(head, headers: headers, context: context)
        running = nil
        observer.connection(channel, busy: false)
        observer.requestFinished(status: 101, seconds: Double((NIODeadline.now() - started).nanoseconds) / 1e9, bytesOut: 0)
        leaveHTTP(context: context)

        let bound = NIOLoopBound((self, context, tracker), eventLoop: context.eventLoop)
        upgrader.upgrade(context: context, upgradeRequest: head).whenComplete { result in
            let (handler, context, tracker) = bound.value
            if case .failure(let error) = result {
                handler.configuration.logger.debug("protocol switch failed: \(error)")
                context.close(promise: nil)
                return
            }
            let held = NIOLoopBound(tracker, eventLoop: context.eventLoop)
            handler.handOver(context: context).whenComplete { _ in
                guard let trackerContext = try? channel.pipeline.syncOperations.context(handler: held.value) else { return }
                held.value.releaseHeld(context: trackerContext)
            }
        }
    }

    /// Upgrades a WebSocket handshake to one of the router's WebSocket routes (RFC
    /// 6455 4.2.2), as NIO's upgrade handler did in front of this handler: the
    /// upgrader checks the handshake and names the response's fields, the 101 is
    /// written, the HTTP handlers leave and the WebSocket's take the connection with
    /// the bytes that came behind the handshake. Not counted as a request: the
    /// WebSocket's handler counts the connection from here.
    func upgradeToWebSocket(_ head: HTTPRequestHead, body: ByteBuffer, context: ChannelHandlerContext) {
        guard let upgrader = webSocketUpgrader else { return }
        let initial = HTTPHeaders([("Upgrade", "websocket"), ("Connection", "Upgrade")])
        switching = true
        let bound = NIOLoopBound((self, context, upgrader), eventLoop: context.eventLoop)
        upgrader.buildUpgradeResponse(channel: context.channel, upgradeRequest: head, initialResponseHeaders: initial)
            .hop(to: context.eventLoop)
            .whenComplete { result in
                let (handler, context, upgrader) = bound.value
                guard context.channel.isActive else { return }
                guard case .success(let headers) = result else {
                    // Judged well-formed already; if the upgrader disagrees, the app answers.
                    handler.switching = false
                    handler.dispatch(head, body: body, bodyStream: nil, context: context)
                    return
                }
                handler.writeSwitchingProtocols(head, headers: headers, context: context)
                handler.running = nil
                handler.observer.connection(context.channel, busy: false)
                handler.leaveHTTP(context: context)
                upgrader.upgrade(context: context, upgradeRequest: head).whenComplete { result in
                    let (handler, context, _) = bound.value
                    if case .failure(let error) = result {
                        handler.configuration.logger.debug("WebSocket upgrade failed: \(error)")
                        context.close(promise: nil)
                        return
                    }
                    _ = handler.handOver(context: context)
                }
            }
    }

    /// `101 Switching Protocols` with the upgrader's fields.
    private func writeSwitchingProtocols(_ head: HTTPRequestHead, headers: HTTPHeaders, context: ChannelHandlerContext) {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        // The upgrader's `Connection: upgrade` is written as it gave it.
        let response = ResponseHead(version: head.version, code: 101, fields: fields, framing: .none,
                                    connection: .asTheAppSaid, date: HTTPDate.now())
        var out = context.channel.allocator.buffer(capacity: response.size)
        response.write(to: &out)
        context.writeAndFlush(Self.wrapOutboundOut(out), promise: nil)
    }

    /// The decoder and the keep-alive timer leave; the decoder's leftover bytes come
    /// here (`switching`) and are held.
    private func leaveHTTP(context: ChannelHandlerContext) {
        let sync = context.pipeline.syncOperations
        if let decoder = try? sync.handler(type: ByteToMessageHandler<RequestDecoder>.self) { _ = sync.removeHandler(decoder) }
        if let timer = cycle as? KeepAliveTimer { _ = sync.removeHandler(timer) }
    }

    /// The new protocol's handlers are in place behind this one: they get the bytes
    /// held for them, and this handler leaves.
    private func handOver(context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        let held = self.held
        self.held = []
        for data in held { context.fireChannelRead(data) }
        if !held.isEmpty { context.fireChannelReadComplete() }
        return context.pipeline.syncOperations.removeHandler(self)
    }
}
