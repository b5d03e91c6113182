import Foundation
import HTTPTypes
import Logging
import Mailbox
import NIOCore
import NIOHTTP1
import NIOWebSocket
import PulsarRuntime

/// What an HTTP connection serves, and with which limits.
struct HTTPServerConfiguration: Sendable {
    var settings: WorkerSettings
    var router: Router
    var logger: Logger
    var context: WorkerContext
}

/// Serves one HTTP/1.1 connection: enforces the limits on heads and bodies, hands
/// each complete request to the request runner, writes the response, and keeps the
/// worker's books through its observer.
///
/// Guarantees: requests are answered in order, one at a time (what arrives while a
/// response is pending waits in `queued`, and reading stops until it is served); a
/// refused request (413, 431, 400) is answered and the connection closed, with
/// nothing more read from it; a client that leaves cancels its request's task; the
/// decisions are `HTTPConnectionStateMachine`'s, this class only carries them out.
///
/// It writes responses as bytes itself (`ResponseBytes`, one buffer for a head and
/// a whole body), in place of NIO's encoder, pipelining handler and header
/// validator; a streamed body's pieces come back through it as
/// `HTTPServerResponsePart.body` and leave framed. A WebSocket handshake to one of
/// the router's WebSocket routes is upgraded here too, at the request's end.
final class HTTPConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = ByteBuffer

    let configuration: HTTPServerConfiguration
    let observer: any ConnectionObserver
    let runner: any RequestRunner
    // What each request reads and changes is `@exclusivity(unchecked)`: a handler is
    // confined to its channel's event loop (the pool threads reach it only through a
    // hop back to the loop), and the run-time checks cost each request about 250 instructions.
    @exclusivity(unchecked) var machine: HTTPConnectionStateMachine
    /// The body of a request whose route streams it, while it is still arriving.
    @exclusivity(unchecked) private var streamingBody: RequestBodyStream?
    /// Cancels the running request's task when its client goes away, so the work it
    /// started (a database query...) is cancelled rather than left running.
    @exclusivity(unchecked) var running: RequestToken?
    /// The running request's slot in the worker's scoreboard; -1 for none.
    @exclusivity(unchecked) var scoreboardSlot: Int32 = -1
    /// The running request as the access log will write it, when there is one.
    @exclusivity(unchecked) var pendingAccess: AccessRecord?
    /// Back-pressure for streamed bodies: reads are held while the reader lags.
    var readsPaused = false
    private var readPending = false
    /// The client's address, formatted once per connection.
    private var peerAddress: String?
    /// Headers a refusal adds (a WebSocket handshake's `Sec-WebSocket-Version`).
    private var refusalHeaders: [(String, String)] = []
    private let rules: RequestHeadRules
    /// The connection is switching protocols: what arrives is held for the new protocol.
    var switching = false
    /// Whether `switching` was started by an app's 101 (the tracker in front counts the close).
    var switchingForApp = false
    /// Bytes that arrived behind the upgrade request, for the new protocol's handlers.
    var held: [NIOAny] = []
    /// The response being written frames its body in chunks.
    @exclusivity(unchecked) var chunked = false
    /// Requests (and parser errors, and the client's half-close) that arrived while a
    /// response was pending, in order. Reading stops while any wait.
    @exclusivity(unchecked) var queued = CircularBuffer<QueuedInbound>()
    var deliveringQueued = false
    /// The request being read is a WebSocket handshake to upgrade at its end.
    var upgradeAtEnd = false
    /// Upgrades the router's WebSocket routes; nil where no pipeline offers them (tests).
    let webSocketUpgrader: (any HTTPServerProtocolUpgrader)?
    /// The decoder in front, asked at a response's end whether a head has begun.
    let decoder: RequestDecoder?

    /// The keep-alive timer in front of the codec, told where each request is.
    let cycle: (any RequestCycleListener)?

    init(configuration: HTTPServerConfiguration, observer: any ConnectionObserver, runner: any RequestRunner,
         cycle: (any RequestCycleListener)? = nil, decoder: RequestDecoder? = nil,
         webSocketUpgrader: (any HTTPServerProtocolUpgrader)? = nil) {
        self.configuration = configuration
        self.decoder = decoder
        self.webSocketUpgrader = webSocketUpgrader
        self.observer = observer
        self.runner = runner
        self.cycle = cycle
        self.machine = HTTPConnectionStateMachine(maxBody: configuration.settings.maxBody)
        let settings = configuration.settings
        self.rules = RequestHeadRules(maxHeaderCount: settings.maxHeaderCount, maxHeaderBytes: settings.maxHeaderBytes,
                                      maxBody: settings.maxBody)
    }

    private var settings: WorkerSettings { configuration.settings }

    /// The request in the worker's scoreboard, while it runs.
    func releaseScoreboardSlot() {
        if scoreboardSlot >= 0 { observer.requestEnded(slot: scoreboardSlot) }
        scoreboardSlot = -1
    }

    func channelActive(context: ChannelHandlerContext) {
        peerAddress = context.channel.remoteAddress?.ipAddress
        observer.connectionOpened(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .cancelRequest(let bodyOpen) = machine.channelClosed() {
            running?.cancel()
            if bodyOpen { streamingBody?.finish(BodyInterrupted()) }
        }
        running = nil
        streamingBody = nil
        queued.removeAll()
        releaseScoreboardSlot()
        // Mid-switch for an app, the tracker in front of the new protocol counts the close.
        if !switchingForApp { observer.connectionClosed(context.channel) }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if switching {
            // The bytes behind the upgrade request, forwarded as the decoder leaves.
            held.append(data)
            return
        }
        received(Self.unwrapInboundIn(data), context: context)
    }

    /// A part from the decoder: straight from it when it was handed this handler
    /// (`RequestDecoder.sink`), which spares each part a box in `NIOAny` and a dynamic
    /// cast out of it (about 1.3k instructions a part); through `channelRead` otherwise.
    func received(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        if !queued.isEmpty || machine.awaitsResponse {
            queued.append(.part(part))   // pipelined: served after the pending response
            return
        }
        handle(part, context: context)
    }

    /// This handler's context, for the parts the decoder hands over directly.
    @exclusivity(unchecked) var ownContext: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        ownContext = context
        decoder?.sink = self
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if decoder?.sink === self { decoder?.sink = nil }
        ownContext = nil
    }

    func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            received(head, context: context)
        case .body(let chunk):
            switch machine.body(chunk) {
            case .none: break
            case .forward(let piece):
                if streamingBody?.append(piece) == false { readsPaused = true }
            case .refuse(let status, let version): refuse(status, version: version, context: context)
            }
        case .end:
            switch machine.end() {
            case .none: break
            case .run(let head, let body) where upgradeAtEnd:
                upgradeAtEnd = false
                upgradeToWebSocket(head, body: body, context: context)
            case .run(let head, let body): dispatch(head, body: body, bodyStream: nil, context: context)
            case .finishStream:
                streamingBody?.finish()
                streamingBody = nil
            }
        }
    }

    private func received(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let target = RequestTarget.originForm(head.uri)
        let segments = Router.segments(target[..<(TargetSplitting.queryMark(in: target) ?? target.endIndex)])
        let method = HTTPRequest.Method(head.method.rawValue) ?? .get
        let streams = configuration.router.bodyMode(method: method, segments: segments) == .stream
        var refusal = rules.refusal(of: head, checkLength: !streams)
        if refusal == nil, configuration.router.hasWebSocket(segments: segments) {
            switch WebSocketHandshake.judge(head) {
            case .refuse(let status, let headers):
                refusal = status
                refusalHeaders = headers
            case .upgrade:
                upgradeAtEnd = webSocketUpgrader != nil && Self.asksToUpgrade(head)
            case .ordinary:
                break
            }
        }
        let action = machine.head(head, refusal: refusal, streams: streams)
        if action == .ignore { return }
        cycle?.requestStarted()
        observer.connection(context.channel, busy: true)
        switch action {
        case .ignore:
            return
        case .refuse(let status, let version):
            refuse(status, version: version, context: context)
            return
        case .collect:
            sendContinueIfExpected(head, context: context)
        case .runStreaming(let head):
            sendContinueIfExpected(head, context: context)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            let stream = RequestBodyStream {
                loop.execute { bound.value.0.resumeReads(context: bound.value.1) }
            }
            streamingBody = stream
            dispatch(head, body: ByteBuffer(), bodyStream: stream, context: context)
        }
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused || !queued.isEmpty {
            readPending = true
        } else {
            context.read()
        }
    }

    /// The body's reader caught up: reading goes on, with the read it held back.
    private func resumeReads(context: ChannelHandlerContext) {
        readsPaused = false
        readIfHeld(context: context)
    }

    /// The read held back while reads were paused or requests waited, once neither holds.
    func readIfHeld(context: ChannelHandlerContext) {
        if readPending, !readsPaused, queued.isEmpty {
            readPending = false
            context.read()
        }
    }

    /// 100 Continue, to an HTTP/1.1 client that asks (RFC 9110 10.1.1; HTTP/1.0 has no 1xx).
    private func sendContinueIfExpected(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.version.major == 1, head.version.minor >= 1, head.headers.contains(name: "expect") else { return }
        if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            var buffer = context.channel.allocator.buffer(capacity: 32)
            buffer.writeStaticString(ResponseBytes.continueLine(version: head.version))
            context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
        }
    }

    /// Answers at once and closes in stages (RFC 9112 9.6): the response, then our
    /// half of the connection, then whatever the client still sends is read and
    /// dropped for a moment, so it sees the status rather than a reset.
    private func refuse(_ status: HTTPResponseStatus, version: HTTPVersion, context: ChannelHandlerContext) {
        cycle?.closing()
        observer.requestStarted()
        let text = "\(status.code) \(status.reasonPhrase)\n"
        var fields: HTTPFields = [.contentType: "text/plain"]
        for (name, value) in refusalHeaders {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        refusalHeaders = []
        let head = ResponseHead(version: version.major == 1 ? version : .http1_1, code: Int(status.code), fields: fields,
                                framing: .length(text.utf8.count), connection: .close, date: HTTPDate.now())
        var buffer = context.channel.allocator.buffer(capacity: head.size + text.utf8.count)
        head.write(to: &buffer)
        buffer.writeString(text)
        observer.requestFinished(status: Int(status.code), seconds: 0, bytesOut: text.utf8.count)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(buffer)).whenComplete { _ in
            channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
            channel.eventLoop.scheduleTask(in: Self.linger) { channel.close(promise: nil) }
        }
    }

    /// How long a refused client's remaining bytes are read and dropped before the close.
    static let linger = TimeAmount.seconds(2)

    // MARK: - Running the app

    func dispatch(_ head: HTTPRequestHead, body: ByteBuffer, bodyStream: RequestBodyStream?, context: ChannelHandlerContext) {
        let remoteAddress = clientAddress(head, peer: peerAddress)
        var request = Request(
            method: HTTPRequest.Method(head.method.rawValue) ?? .get,
            target: RequestTarget.originForm(head.uri),
            headers: HTTPFields(head.headers),
            body: body,
            remoteAddress: remoteAddress,
            eventLoop: context.eventLoop,
            context: configuration.context)
        request.bodyStream = bodyStream
        observer.requestStarted()
        scoreboardSlot = observer.requestBegan(method: head.method.rawValue, target: head.uri)
        if observer.logsAccess {
            pendingAccess = AccessRecord(remote: remoteAddress ?? "-", method: head.method.rawValue, target: head.uri,
                                         version: "HTTP/\(head.version.major).\(head.version.minor)",
                                         referer: head.headers.first(name: "referer"), userAgent: head.headers.first(name: "user-agent"))
        }
        let started = NIODeadline.now()
        let router = configuration.router
        let logger = configuration.logger
        let channel = context.channel
        let bound = NIOLoopBound(ResponseTarget(handler: self, context: context), eventLoop: context.eventLoop)
        let token = RequestToken()
        running = token
        // Captured by value and not used after: the job takes the request over.
        let accepted = runner.submit(token: token) { [request] in
            let response: Response
            do {
                response = try await router.respond(to: request)
            } catch {
                logger.error("\(request.method) \(request.path) failed: \(error)")
                response = .text("Internal Server Error\n", status: .internalServerError)
            }
            return await ResponseTarget.deliver(response, for: head, started: started, to: bound, channel: channel,
                                                logger: logger, what: (request.method, request.path))
        }
        if !accepted {
            var busy = Response.text("Service Unavailable: the worker's queue is full\n", status: .serviceUnavailable)
            busy.headers[.retryAfter] = "1"
            writeComplete(busy, for: head, started: started, context: context)
        }
    }

    /// The client's address: the peer, or the first `X-Forwarded-For` entry when
    /// the peer is trusted with `--forwarded-allow-ips`.
    private func clientAddress(_ head: HTTPRequestHead, peer: String?) -> String? {
        let trusted = settings.forwardedAllowIPs
        guard let peer, trusted.contains("*") || trusted.contains(peer),
              let forwarded = head.headers.first(name: "x-forwarded-for") else { return peer }
        let first = forwarded.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return first.isEmpty ? peer : first
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // The decoder's errors come in order with its requests: one behind a pending
        // response waits its turn (a bad request pipelined behind a good one is answered
        // 400 after the good one's response).
        if !queued.isEmpty || machine.awaitsResponse, error is HTTPParserError || error is ByteToMessageDecoderError {
            queued.append(.error(error))
            return
        }
        handleError(error, context: context)
    }

    func handleError(_ error: Error, context: ChannelHandlerContext) {
        guard let error = error as? HTTPParserError else {
            if machine.isRefused { return }   // what a refused client still sends is dropped
            // More bytes after a request that closes the connection, in the same read.
            if case ByteToMessageDecoderError.dataReceivedInErrorState(let inner, _) = error,
               inner as? HTTPParserError == .closedConnection { return }
            configuration.logger.debug("closing a connection: \(error)")
            context.close(promise: nil)
            return
        }
        // Bytes after a request that closes the connection: not read, not answered;
        // the response in flight still goes out.
        if error == .closedConnection {
            readsPaused = true
            return
        }
        // A head cut short by the connection closing (after a 408, say) is nobody's to answer.
        guard context.channel.isActive else {
            context.close(promise: nil)
            return
        }
        switch machine.parserError(error) {
        case .refuse(let status, let version): refuse(status, version: version, context: context)
        case .ignore where machine.isRefused: break
        default: context.close(promise: nil)
        }
    }
}
