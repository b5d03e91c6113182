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
        var headers = headers
        headers.add(name: "Date", value: HTTPDate.now())
        headers.add(name: "Server", value: "pulse")
        let channel = context.channel
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .switchingProtocols, headers: headers))),
                      promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
        running = nil
        observer.connection(channel, busy: false)
        observer.requestFinished(status: 101, seconds: Double((NIODeadline.now() - started).nanoseconds) / 1e9, bytesOut: 0)

        let sync = context.pipeline.syncOperations
        Self.remove(ByteToMessageHandler<RequestDecoder>.self, from: sync)
        Self.remove(HTTPResponseEncoder.self, from: sync)
        Self.remove(HTTPServerPipelineHandler.self, from: sync)
        Self.remove(HTTPServerUpgradeHandler.self, from: sync)
        Self.remove(NIOHTTPResponseHeadersValidator.self, from: sync)
        if let timer = cycle as? KeepAliveTimer { _ = sync.removeHandler(timer) }

        let bound = NIOLoopBound((self, context, tracker), eventLoop: context.eventLoop)
        upgrader.upgrade(context: context, upgradeRequest: head).whenComplete { result in
            let (handler, context, tracker) = bound.value
            if case .failure(let error) = result {
                handler.configuration.logger.debug("protocol switch failed: \(error)")
                context.close(promise: nil)
                return
            }
            let held = NIOLoopBound(tracker, eventLoop: context.eventLoop)
            context.pipeline.syncOperations.removeHandler(handler).whenComplete { _ in
                guard let trackerContext = try? channel.pipeline.syncOperations.context(handler: held.value) else { return }
                held.value.releaseHeld(context: trackerContext)
            }
        }
    }

    private static func remove<Handler: RemovableChannelHandler>(_ type: Handler.Type,
                                                               from sync: ChannelPipeline.SynchronousOperations) {
        if let handler = try? sync.handler(type: type) { _ = sync.removeHandler(handler) }
    }
}
