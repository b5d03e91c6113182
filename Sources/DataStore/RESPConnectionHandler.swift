import NIOCore

/// Serves one data store client: parses pipelined requests, runs them in order
/// against the store, answers, and pushes pub/sub messages. A protocol error is
/// answered once, then the connection closes.
public final class RESPConnectionHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let store: Store
    private let parser: RESPRequestParser
    private let outputLimit: Int
    @exclusivity(unchecked) private var pending = ByteBuffer()
    /// The command names this client sent lately, kept so a repeated one is not copied again.
    @exclusivity(unchecked) private var names = CommandNames()
    /// The storage each request's arguments are gathered in, used again for the next.
    @exclusivity(unchecked) private var arguments: [[UInt8]] = []
    @exclusivity(unchecked) private var session: Session?
    @exclusivity(unchecked) private var queuedPushBytes = 0
    @exclusivity(unchecked) private var flushScheduled = false

    /// `outputLimit`: bytes of undelivered pub/sub messages after which a slow
    /// subscriber is disconnected, so it cannot grow the store's memory.
    public init(store: Store, parser: RESPRequestParser = RESPRequestParser(), outputLimit: Int = 32 << 20) {
        self.store = store
        self.parser = parser
        self.outputLimit = outputLimit
    }

    public func channelActive(context: ChannelHandlerContext) {
        guard store.sessions.count < store.maxClients else {
            // As Redis does past maxclients: say why, then close.
            store.stats.rejectedConnections += 1
            var buffer = context.channel.allocator.buffer(capacity: 48)
            RESPValue.error("ERR max number of clients reached").write(to: &buffer)
            context.writeAndFlush(Self.wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            return
        }
        store.lastClientID += 1
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let session = Session(store: store, id: store.lastClientID, address: Self.text(context.remoteAddress),
                              localAddress: Self.text(context.localAddress)) { value in
            let (handler, context) = bound.value
            handler.pushMessage(value, context: context)
        }
        session.disconnect = { bound.value.1.close(promise: nil) }
        session.pendingInput = { bound.value.0.pending.readableBytes }
        session.pendingOutput = { bound.value.0.queuedPushBytes }
        session.scheduleTimeout = { seconds, action in
            // Checked by the commands (at most Int64.max less the clock); clamped here
            // too, since a Double rounded near 2^63 would trap in Int64's initializer.
            let milliseconds = min(max(0, (seconds * 1000).rounded(.up)), 9.2e18)
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(milliseconds))) { action() }
        }
        session.resume = {
            let (handler, context) = bound.value
            handler.process(context: context)
        }
        self.session = session
        store.sessions[session.id] = session
        store.stats.connectionsReceived += 1
        store.connections += 1
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if let session {
            session.close()
            store.sessions[session.id] = nil
            store.connections -= 1
        }
        session = nil
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard session != nil else { return }   // refused past maxclients: closing
        var incoming = Self.unwrapInboundIn(data)
        store.stats.inputBytes += incoming.readableBytes
        pending.writeBuffer(&incoming)
        process(context: context)
    }

    /// Runs the requests waiting in the buffer, in order, until one blocks.
    private func process(context: ChannelHandlerContext) {
        var output = context.channel.allocator.buffer(capacity: 256)
        guard let session, session.blocked == nil else { return }
        do {
            while let request = try parser.next(&pending, names: &names, reusing: &arguments, authenticated: session.authenticated) {
                guard let name = request.name else { continue }
                let skipped = session.skipNextReply
                session.skipNextReply = false
                let replies = session.respond(name: name, arguments: request.arguments)
                // CLIENT REPLY SKIP is not answered either; it set the flag for the next command.
                if !skipped, !session.skipNextReply, !session.repliesOff {
                    replies.write(to: &output, resp3: session.resp3)
                }
                if session.closeAfterReply || session.blocked != nil { break }
            }
        } catch {
            RESPValue.error("ERR \(error.message)").write(to: &output)
            session.closeAfterReply = true
        }
        if pending.readableBytes == 0 { pending.clear() } else { pending.discardReadBytes() }
        store.stats.outputBytes += output.readableBytes
        if output.readableBytes > 0 {
            if session.closeAfterReply {
                context.writeAndFlush(Self.wrapOutboundOut(output)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            } else {
                context.writeAndFlush(Self.wrapOutboundOut(output), promise: nil)   // no future to make and complete
            }
        }
    }

    private func pushMessage(_ value: RESPValue, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        value.write(to: &buffer, resp3: session?.resp3 ?? false)
        let size = buffer.readableBytes
        store.stats.outputBytes += size
        queuedPushBytes += size
        guard queuedPushBytes <= outputLimit else {
            // Redis's client-output-buffer-limit for pub/sub: a subscriber that cannot keep up is let go.
            context.close(promise: nil)
            return
        }
        context.write(Self.wrapOutboundOut(buffer)).assumeIsolated().whenComplete { [self] _ in
            queuedPushBytes -= size
        }
        // One flush for every message of this turn of the loop, as Redis writes a
        // client's output once before it sleeps: a burst of PUBLISHes is one write
        // to each subscriber, not one each.
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            context.flush()
        }
    }

    /// An address as Redis shows it: `127.0.0.1:6379`, `[::1]:6379`.
    private static func text(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "?" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
