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
/// Guarantees: requests are answered in order, one at a time (NIO's pipelining
/// handler sits in front); a refused request (413, 431, 400) is answered and the
/// connection closed, with nothing more read from it; a client that leaves cancels
/// its request's task; the decisions are `HTTPConnectionStateMachine`'s, this class
/// only carries them out.
final class HTTPConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

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
    private var readsPaused = false
    private var readPending = false
    /// The client's address, formatted once per connection.
    private var peerAddress: String?
    /// Headers a refusal adds (a WebSocket handshake's `Sec-WebSocket-Version`).
    private var refusalHeaders: [(String, String)] = []
    private let rules: RequestHeadRules
    /// The connection is switching protocols: the tracker in front holds what arrives.
    var switching = false

    /// The keep-alive timer in front of the codec, told where each request is.
    let cycle: (any RequestCycleListener)?

    init(configuration: HTTPServerConfiguration, observer: any ConnectionObserver, runner: any RequestRunner,
         cycle: (any RequestCycleListener)? = nil) {
        self.configuration = configuration
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
        releaseScoreboardSlot()
        // Mid-switch, the books in front of the new protocol count the close.
        if !switching { observer.connectionClosed(context.channel) }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if switching {
            // Parsed after the upgrade request: a client that did not wait for the 101.
            // What it is cannot be told without unwrapping it, so it is not kept.
            context.close(promise: nil)
            return
        }
        switch Self.unwrapInboundIn(data) {
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
        if refusal == nil, configuration.router.hasWebSocket(segments: segments),
           case .refuse(let status, let headers) = WebSocketHandshake.judge(head) {
            refusal = status
            refusalHeaders = headers
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
        if readsPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    /// The body's reader caught up: reading goes on, with the read it held back.
    private func resumeReads(context: ChannelHandlerContext) {
        readsPaused = false
        if readPending {
            readPending = false
            context.read()
        }
    }

    /// 100 Continue, to an HTTP/1.1 client that asks (RFC 9110 10.1.1; HTTP/1.0 has no 1xx).
    private func sendContinueIfExpected(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.version.major == 1, head.version.minor >= 1, head.headers.contains(name: "expect") else { return }
        if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            context.writeAndFlush(Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
    }

    /// Answers at once and closes in stages (RFC 9112 9.6): the response, then our
    /// half of the connection, then whatever the client still sends is read and
    /// dropped for a moment, so it sees the status rather than a reset.
    private func refuse(_ status: HTTPResponseStatus, version: HTTPVersion, context: ChannelHandlerContext) {
        cycle?.closing()
        observer.requestStarted()
        let text = "\(status.code) \(status.reasonPhrase)\n"
        var headers = HTTPHeaders([("Content-Type", "text/plain"), ("Content-Length", "\(text.utf8.count)"), ("Connection", "close")])
        headers.add(name: "Date", value: HTTPDate.now())
        headers.add(name: "Server", value: "pulse")
        headers.add(contentsOf: refusalHeaders)
        refusalHeaders = []
        let answered = version.major == 1 ? version : .http1_1
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: answered, status: status, headers: headers))), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
        observer.requestFinished(status: Int(status.code), seconds: 0, bytesOut: text.utf8.count)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
            channel.eventLoop.scheduleTask(in: Self.linger) { channel.close(promise: nil) }
        }
    }

    /// How long a refused client's remaining bytes are read and dropped before the close.
    static let linger = TimeAmount.seconds(2)

    // MARK: - Running the app

    private func dispatch(_ head: HTTPRequestHead, body: ByteBuffer, bodyStream: RequestBodyStream?, context: ChannelHandlerContext) {
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

    func writeComplete(_ response: Response, for head: HTTPRequestHead, started: NIODeadline, context: ChannelHandlerContext) {
        if let makeUpgrader = response.switchProtocols, response.status.code == 101 {
            guard head.method == .GET, Self.asksToUpgrade(head) else {
                var refusal = Response.text("Upgrade Required: connect with Upgrade: websocket\n", status: .upgradeRequired)
                refusal.headers[.upgrade] = "websocket"
                writeComplete(refusal, for: head, started: started, context: context)
                return
            }
            switchProtocols(makeUpgrader(), for: head, started: started, context: context)
            return
        }
        writeHead(response, for: head, context: context)
        var bytes = 0
        if case .buffer(let buffer) = response.body, head.method != .HEAD, buffer.readableBytes > 0 {
            bytes = buffer.readableBytes
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        finish(status: response.status.code, started: started, bytes: bytes, abort: false, context: context)
    }

    func writeHead(_ response: Response, for head: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = machine.responseHeadWritten(draining: observer.isDraining, knownLength: response.knownLength != nil)
        // The app's fields, less those the server sets, then the server's: one pass, no
        // lookups, one array (HTTPHeaders.add would check each name again; HTTPField
        // names are valid tokens already).
        var headers: [(String, String)] = []
        headers.reserveCapacity(response.headers.count + 4)
        for field in response.headers where !Self.serverFields.contains(field.name) {
            headers.append((field.name.rawName, field.value))
        }
        let status = HTTPResponseStatus(statusCode: response.status.code, reasonPhrase: response.status.reasonPhrase)
        // The body's framing is ours (the encoder's is off): no field for a status that
        // has no body; a HEAD response states the length a GET would have, or nothing.
        if status.mayHaveResponseBody {
            if let length = response.knownLength {
                headers.append(("Content-Length", String(length)))
            } else if head.method != .HEAD, head.version.major == 1, head.version.minor >= 1 {
                headers.append(("Transfer-Encoding", "chunked"))
            }
        }
        headers.append(("Date", HTTPDate.now()))
        headers.append(("Server", "pulse"))
        if !keepAlive {
            headers.append(("Connection", "close"))
        } else if head.version.major == 1, head.version.minor == 0 {
            headers.append(("Connection", "keep-alive"))   // HTTP/1.0 closes unless told
        } else if let connection = response.headers[.connection] {
            headers.append(("Connection", connection))
        }
        let responseHead = HTTPResponseHead(version: head.version, status: status, headers: HTTPHeaders(headers))
        context.write(Self.wrapOutboundOut(.head(responseHead)), promise: nil)
    }

    /// Fields the server writes itself, whatever the app set.
    private static let serverFields: Set<HTTPField.Name> = [.contentLength, .transferEncoding, .date, .server, .connection]

    /// Ends the response, closes the books, and readies the connection for the next request.
    func finish(status: Int, started: NIODeadline, bytes: Int, abort: Bool, context: ChannelHandlerContext) {
        // The books close before the last write: its completion may close the
        // connection, and a draining worker exits when the last one closes.
        let channel = context.channel
        running = nil
        let action = machine.responseFinished(aborted: abort)
        observer.connection(channel, busy: false)
        releaseScoreboardSlot()
        let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
        if var record = pendingAccess {
            pendingAccess = nil
            (record.status, record.bytes, record.seconds) = (status, bytes, seconds)
            observer.logAccess(record)
        }
        observer.requestFinished(status: status, seconds: seconds, bytesOut: bytes)
        switch action {
        case .none:
            return
        case .abort:
            context.close(promise: nil)   // a half-sent stream cannot end well
        case .close:
            readsPaused = true   // nothing more is read (or answered) on this connection
            cycle?.closing()
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        case .awaitNextRequest:
            // Before the end: writing it may deliver a pipelined request at once.
            cycle?.responseEnded()
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
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
        guard let error = error as? HTTPParserError else {
            if machine.isRefused { return }   // what a refused client still sends is dropped
            // A handshake not upgraded: NIO says so, then hands the request on, to be answered.
            if error is NIOWebSocketUpgradeError { return }
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
