import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1

/// Serves one HTTP/1.1 connection: collects a request, runs the app's handler off
/// the event loop, writes the response, and keeps the worker's books.
///
/// NIO's pipelining handler in front of it delivers one request at a time, so
/// pipelined requests are answered in order.
final class HTTPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let worker: Worker
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var busy = false

    init(worker: Worker) { self.worker = worker }

    func channelActive(context: ChannelHandlerContext) {
        worker.connectionOpened(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        worker.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = context.channel.allocator.buffer(capacity: 0)
            busy = true
            worker.connection(context.channel, busy: true)
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            guard let requestHead = head else { return }
            head = nil
            respond(to: requestHead, context: context)
        }
    }

    private func respond(to requestHead: HTTPRequestHead, context: ChannelHandlerContext) {
        let request = Request(
            method: HTTPRequest.Method(requestHead.method.rawValue) ?? .get,
            target: requestHead.uri,
            headers: HTTPFields(requestHead.headers),
            body: body,
            remoteAddress: context.channel.remoteAddress?.ipAddress,
            eventLoop: context.eventLoop)
        body = ByteBuffer()
        worker.requestStarted()
        let started = NIODeadline.now()
        let router = worker.app.router
        let logger = worker.logger
        let promise = context.eventLoop.makePromise(of: Response.self)
        promise.completeWithTask {
            do {
                return try await router.respond(to: request)
            } catch {
                logger.error("\(request.method) \(request.path) failed: \(error)")
                return .text("Internal Server Error\n", status: .internalServerError)
            }
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { response in
            let (handler, context) = bound.value
            handler.write(response, for: requestHead, started: started, context: context)
        }
    }

    private func write(_ response: Response, for requestHead: HTTPRequestHead, started: NIODeadline,
                       context: ChannelHandlerContext) {
        let keepAlive = requestHead.isKeepAlive && !worker.isDraining
        var headers = HTTPHeaders(response.headers)
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes))
        headers.replaceOrAdd(name: "Date", value: HTTPDate.now())
        headers.replaceOrAdd(name: "Server", value: "pulse")
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status.code, reasonPhrase: response.status.reasonPhrase)
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: requestHead.version, status: status, headers: headers))), promise: nil)
        if requestHead.method != .HEAD, response.body.readableBytes > 0 {
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        // The books close before the last write: its completion may close the
        // connection, and a draining worker exits when the last one closes.
        let channel = context.channel
        busy = false
        worker.connection(channel, busy: false)
        worker.requestFinished(status: response.status.code, seconds: Double((NIODeadline.now() - started).nanoseconds) / 1e9,
                               bytesOut: response.body.readableBytes)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, !busy {
            context.close(promise: nil)      // keep-alive timeout
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
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
