import Foundation
import HTTPTypes
import Mailbox
import NIOCore
import NIOHTTP1

/// Serves one HTTP/1.1 connection: enforces the limits on heads and bodies,
/// hands each complete request to the scheduler, writes the response, and keeps
/// the worker's books.
///
/// NIO's pipelining handler in front of it delivers one request at a time, so
/// pipelined requests are answered in order.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for a request head.
        case idle
        case readingBody(HTTPRequestHead)
        /// Answered early (413, 431): the rest of the request is ignored, then we close.
        case refused
        case responding
    }

    private let worker: Worker
    private let books: ConnectionBooks
    private var state = State.idle
    private var body = ByteBuffer()
    private var headerDeadline: Scheduled<Void>?
    /// The body of a request whose route streams it, while it is still arriving.
    private var streamingBody: RequestBodyStream?
    /// Cancels the running request's task when its client goes away, so the work it
    /// started (a database query...) is cancelled rather than left running.
    private var running: RequestScheduler.Token?

    init(worker: Worker, books: ConnectionBooks) {
        self.worker = worker
        self.books = books
    }

    private var settings: WorkerSettings { worker.launch.settings }

    func channelActive(context: ChannelHandlerContext) {
        worker.connectionOpened(context.channel)
        armHeaderDeadline(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        headerDeadline?.cancel()
        running?.cancel()
        running = nil
        streamingBody?.finish(BodyInterrupted())
        streamingBody = nil
        worker.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headerDeadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            headerDeadline?.cancel()
            worker.connection(context.channel, busy: true)
            let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            let streams = worker.app.router.bodyMode(method: HTTPRequest.Method(head.method.rawValue) ?? .get, path: path) == .stream
            if let status = refusal(of: head, checkLength: !streams) {
                refuse(status, version: head.version, context: context)
                return
            }
            if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                context.writeAndFlush(Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            body = context.channel.allocator.buffer(capacity: 0)
            if streams {
                let channel = context.channel
                let stream = RequestBodyStream {
                    channel.eventLoop.execute { channel.setOption(ChannelOptions.autoRead, value: true).whenSuccess { channel.read() } }
                }
                streamingBody = stream
                dispatch(head, bodyStream: stream, context: context)
            } else {
                state = .readingBody(head)
            }
        case .body(var chunk):
            if let stream = streamingBody {
                if !stream.append(chunk) {
                    context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
                }
                return
            }
            guard case .readingBody(let head) = state else { return }
            if body.readableBytes + chunk.readableBytes > settings.maxBody {
                refuse(.payloadTooLarge, version: head.version, context: context)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            if let stream = streamingBody {
                stream.finish()
                streamingBody = nil
                return
            }
            switch state {
            case .readingBody(let head): dispatch(head, bodyStream: nil, context: context)
            case .refused: context.close(promise: nil)
            case .idle, .responding: break
            }
        }
    }

    /// A status to answer at once, before reading the body: 431 for too many or too
    /// large headers, 413 for a declared body over `--max-body`.
    private func refusal(of head: HTTPRequestHead, checkLength: Bool) -> HTTPResponseStatus? {
        var bytes = 0
        for (name, value) in head.headers { bytes += name.utf8.count + value.utf8.count }
        if head.headers.count > settings.maxHeaderCount || bytes > settings.maxHeaderBytes {
            return .requestHeaderFieldsTooLarge
        }
        if checkLength, let length = head.headers.first(name: "content-length").flatMap(Int.init), length > settings.maxBody {
            return .payloadTooLarge
        }
        return nil
    }

    private func refuse(_ status: HTTPResponseStatus, version: HTTPVersion, context: ChannelHandlerContext) {
        state = .refused
        worker.requestStarted()
        let text = "\(status.code) \(status.reasonPhrase)\n"
        var headers = HTTPHeaders([("Content-Type", "text/plain"), ("Content-Length", "\(text.utf8.count)"), ("Connection", "close")])
        headers.add(name: "Date", value: HTTPDate.now())
        headers.add(name: "Server", value: "pulse")
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
        worker.requestFinished(status: Int(status.code), seconds: 0, bytesOut: text.utf8.count)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    // MARK: - Running the app

    private func dispatch(_ head: HTTPRequestHead, bodyStream: RequestBodyStream?, context: ChannelHandlerContext) {
        state = .responding
        var incoming = Request(
            method: HTTPRequest.Method(head.method.rawValue) ?? .get,
            target: head.uri,
            headers: HTTPFields(head.headers),
            body: body,
            remoteAddress: clientAddress(head, peer: context.channel.remoteAddress?.ipAddress),
            eventLoop: context.eventLoop)
        incoming.bodyStream = bodyStream
        let request = incoming
        body = ByteBuffer()
        worker.requestStarted()
        let started = NIODeadline.now()
        let router = worker.app.router
        let logger = worker.logger
        let channel = context.channel
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let worker = self.worker
        let token = RequestScheduler.Token()
        running = token
        let accepted = worker.scheduler.submit(token: token) {
            let response: Response
            do {
                response = try await router.respond(to: request)
            } catch {
                logger.error("\(request.method) \(request.path) failed: \(error)")
                response = .text("Internal Server Error\n", status: .internalServerError)
            }
            await Self.deliver(response, for: head, started: started, to: bound, channel: channel, worker: worker,
                               what: "\(request.method) \(request.path)")
        }
        if !accepted {
            var busy = Response.text("Service Unavailable: the worker's queue is full\n", status: .serviceUnavailable)
            busy.headers[.retryAfter] = "1"
            writeComplete(busy, for: head, started: started, context: context)
        }
    }

    /// Writes a response from the request's execution context: a whole body in one
    /// hop to the loop; a stream as head, pieces written by the producer, then end.
    private static func deliver(_ response: Response, for head: HTTPRequestHead, started: NIODeadline,
                                to bound: NIOLoopBound<(HTTPConnectionHandler, ChannelHandlerContext)>,
                                channel: Channel, worker: Worker, what: String) async {
        guard case .stream(let produce) = response.body, head.method != .HEAD else {
            channel.eventLoop.execute {
                let (handler, context) = bound.value
                handler.writeComplete(response, for: head, started: started, context: context)
            }
            return
        }
        do {
            try await channel.eventLoop.submit {
                let (handler, context) = bound.value
                handler.writeHead(response, for: head, context: context)
            }.get()
        } catch {
            return
        }
        let writer = BodyWriter(channel: channel) { count in channel.eventLoop.execute { worker.countBytesOut(count) } }
        let failure: Error?
        do {
            try await produce(writer)
            failure = nil
        } catch {
            failure = error
        }
        channel.eventLoop.execute {
            let (handler, context) = bound.value
            if let failure { worker.logger.error("\(what) failed while streaming: \(failure)") }
            handler.finish(status: response.status.code, for: head, started: started, bytes: 0, abort: failure != nil, context: context)
        }
    }

    private func writeComplete(_ response: Response, for head: HTTPRequestHead, started: NIODeadline, context: ChannelHandlerContext) {
        writeHead(response, for: head, context: context)
        var bytes = 0
        if case .buffer(let buffer) = response.body, head.method != .HEAD, buffer.readableBytes > 0 {
            bytes = buffer.readableBytes
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        finish(status: response.status.code, for: head, started: started, bytes: bytes, abort: false, context: context)
    }

    private var keepAlive = true

    private func writeHead(_ response: Response, for head: HTTPRequestHead, context: ChannelHandlerContext) {
        // A response that starts before its streamed request body ended cannot leave
        // the connection in a known state: it closes after.
        keepAlive = head.isKeepAlive && !worker.isDraining && streamingBody == nil
        var headers = HTTPHeaders(response.headers)
        if let length = response.knownLength {
            headers.replaceOrAdd(name: "Content-Length", value: String(length))
        } else {
            headers.remove(name: "Content-Length")
            if head.version.major == 1, head.version.minor == 0 { keepAlive = false }
        }
        headers.replaceOrAdd(name: "Date", value: HTTPDate.now())
        headers.replaceOrAdd(name: "Server", value: "pulse")
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status.code, reasonPhrase: response.status.reasonPhrase)
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
    }

    /// Ends the response, closes the books, and readies the connection for the next request.
    private func finish(status: Int, for head: HTTPRequestHead, started: NIODeadline, bytes: Int, abort: Bool,
                        context: ChannelHandlerContext) {
        // The books close before the last write: its completion may close the
        // connection, and a draining worker exits when the last one closes.
        let channel = context.channel
        state = .idle
        running = nil
        books.bytesSinceResponse = 0
        worker.connection(channel, busy: false)
        worker.requestFinished(status: status, seconds: Double((NIODeadline.now() - started).nanoseconds) / 1e9, bytesOut: bytes)
        let close = !keepAlive || abort
        if abort {
            context.close(promise: nil)   // a half-sent stream cannot end well
            return
        }
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in
            if close { channel.close(promise: nil) }
        }
        if !close { armHeaderDeadline(context: context) }
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

    // MARK: - Slow clients and broken requests

    /// A client has `--header-timeout` seconds to send a request head. One that sent
    /// part of it gets 408; an idle keep-alive connection is left to the idle timeout.
    private func armHeaderDeadline(context: ChannelHandlerContext) {
        headerDeadline?.cancel()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        headerDeadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(settings.headerTimeout * 1000))) {
            let (handler, _) = bound.value
            guard case .idle = handler.state, handler.books.bytesSinceResponse > 0 else { return }
            handler.worker.requestStarted()
            handler.worker.requestFinished(status: 408, seconds: handler.settings.headerTimeout, bytesOut: 0)
            handler.books.sendRawAndClose("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\nServer: pulse\r\n\r\n")
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, case .idle = state, books.bytesSinceResponse == 0 {
            context.close(promise: nil)      // keep-alive timeout
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? HTTPParserError {
            switch state {
            case .idle, .readingBody:
                let status: HTTPResponseStatus = error == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
                refuse(status, version: .http1_1, context: context)
                return
            case .refused, .responding:
                break
            }
        }
        context.close(promise: nil)
    }
}

/// Per-connection facts shared by the raw byte counter at the front of the
/// pipeline and the HTTP handler behind the codec.
final class ConnectionBooks {
    var bytesSinceResponse = 0
    /// The context in front of the HTTP codec, for bytes the codec must not see.
    var rawContext: ChannelHandlerContext?

    func sendRawAndClose(_ text: String) {
        guard let context = rawContext else { return }
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: text))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

/// Counts the bytes a connection receives, before the HTTP codec sees them.
final class RawByteCounter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let books: ConnectionBooks
    private let worker: Worker

    init(books: ConnectionBooks, worker: Worker) {
        self.books = books
        self.worker = worker
    }

    func handlerAdded(context: ChannelHandlerContext) { books.rawContext = context }
    func handlerRemoved(context: ChannelHandlerContext) { books.rawContext = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = Self.unwrapInboundIn(data).readableBytes
        books.bytesSinceResponse += count
        worker.countBytesIn(count)
        context.fireChannelRead(data)
    }
}

extension HTTPFields {
    init(_ headers: HTTPHeaders) {
        self.init()
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { append(HTTPField(name: field, value: value)) }
        }
    }
}

extension HTTPHeaders {
    init(_ fields: HTTPFields) {
        self.init()
        for field in fields { add(name: field.name.rawName, value: field.value) }
    }
}

/// The `Date` header, formatted once per second at most.
enum HTTPDate {
    nonisolated(unsafe) private static var cache: (second: Int, text: String) = (0, "")
    private static let lock = NSLock()

    static func now() -> String {
        let seconds = Int(Date().timeIntervalSince1970)
        lock.lock()
        defer { lock.unlock() }
        if cache.second != seconds {
            var time = time_t(seconds)
            var parts = tm()
            gmtime_r(&time, &parts)
            var buffer = [CChar](repeating: 0, count: 64)
            let length = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
            cache = (seconds, String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return cache.text
    }
}
