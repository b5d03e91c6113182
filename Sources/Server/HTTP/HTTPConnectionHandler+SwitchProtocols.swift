import NIOCore
import NIOHTTP1

extension HTTPConnectionHandler {
    /// Hands the connection to another protocol after the app answered 101 with an
    /// upgrader (RFC 9110 15.2.2), as NIO's upgrade handler does but after the app
    /// rather than before it: the upgrader builds the response headers, the 101 is
    /// written, the HTTP handlers leave, the upgrader's handlers take the connection
    /// and receive whatever arrived meanwhile. Books stay in front of them.
    func switchProtocols(_ upgrader: any HTTPServerProtocolUpgrader, for head: HTTPRequestHead, started: NIODeadline,
                         context: ChannelHandlerContext) {
        switching = []
        // The upgrader is not Sendable: it stays on this loop with the handler.
        let bound = NIOLoopBound((self, context, upgrader), eventLoop: context.eventLoop)
        upgrader.buildUpgradeResponse(channel: context.channel, upgradeRequest: head, initialResponseHeaders: [:])
            .hop(to: context.eventLoop)
            .whenComplete { result in
                let (handler, context, upgrader) = bound.value
                switch result {
                case .success(let headers):
                    handler.completeSwitch(upgrader, headers: headers, for: head, started: started, context: context)
                case .failure(let error):
                    handler.configuration.logger.debug("refusing a protocol switch: \(error)")
                    handler.switching = nil
                    var refusal = Response.text("Bad Request\n", status: .badRequest)
                    refusal.headers[.connection] = "close"
                    handler.writeComplete(refusal, for: head, started: started, context: context)
                    context.close(promise: nil)
                }
            }
    }

    private func completeSwitch(_ upgrader: any HTTPServerProtocolUpgrader, headers: HTTPHeaders, for head: HTTPRequestHead,
                                started: NIODeadline, context: ChannelHandlerContext) {
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
        do {
            try sync.addHandler(HostedConnectionBooks(observer: observer, upgraded: true), position: .first)
        } catch {
            context.close(promise: nil)
            return
        }
        observer.webSocketOpened(channel)
        // The request decoder first: bytes it still holds come to this handler, which keeps them.
        Self.remove(ByteToMessageHandler<HTTPRequestDecoder>.self, from: sync)
        Self.remove(HTTPResponseEncoder.self, from: sync)
        Self.remove(HTTPServerPipelineHandler.self, from: sync)
        Self.remove(HTTPServerUpgradeHandler.self, from: sync)
        Self.remove(NIOHTTPResponseHeadersValidator.self, from: sync)
        if let timer = cycle as? KeepAliveTimer { _ = sync.removeHandler(timer) }

        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        upgrader.upgrade(context: context, upgradeRequest: head).whenComplete { result in
            let (handler, context) = bound.value
            if case .failure(let error) = result {
                handler.configuration.logger.debug("protocol switch failed: \(error)")
                context.close(promise: nil)
                return
            }
            for data in handler.switching ?? [] { context.fireChannelRead(data) }
            handler.switching = []
            _ = context.pipeline.syncOperations.removeHandler(handler)
        }
    }

    private static func remove<Handler: RemovableChannelHandler>(_ type: Handler.Type,
                                                               from sync: ChannelPipeline.SynchronousOperations) {
        if let handler = try? sync.handler(type: type) { _ = sync.removeHandler(handler) }
    }
}
