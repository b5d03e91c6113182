import Foundation
import Mailbox
import NIOCore
import NIOPosix
import PulseControl

/// `--metrics ADDRESS`: the arbiter's own small HTTP endpoint for Prometheus and for
/// health checks. `GET /metrics` (the exposition), `/healthz` (200 while the
/// arbiter runs) and `/readyz` (200 only while every service is ready).
///
/// The arbiter links no HTTP stack (the workers' is theirs): a scrape is one small
/// GET, so this reads one request head of at most 8 KiB, answers it with
/// `Connection: close`, and closes. Anything else is a 4xx; a client that sends
/// nothing for 10 s is dropped.
enum MetricsServer {
    struct Answer {
        var status: Int
        var contentType: String
        var body: String
    }

    /// Runs on the arbiter's loop, with the request's method and path.
    typealias Responder = @Sendable (_ method: String, _ path: String) -> Answer

    /// Serves on `socket`, bound by the arbiter as it binds the services' (so the
    /// address, port 0 resolved, is known before anything runs). NIO owns it after.
    static func start(socket: ListeningSocket, group: EventLoopGroup, respond: @escaping Responder) -> EventLoopFuture<Channel> {
        ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(MetricsConnectionHandler(respond: respond))
                }
            }
            .withBoundSocket(socket.fd)
    }

    /// The answer for a complete request head.
    static func answer(head: ArraySlice<UInt8>, respond: Responder) -> Answer {
        // Bytes, not Characters: Swift reads "\r\n" as one Character.
        let requestLine = String(decoding: head.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1."), parts[1].hasPrefix("/") else {
            return Answer(status: 400, contentType: "text/plain", body: "bad request\n")
        }
        let method = String(parts[0])
        guard method == "GET" || method == "HEAD" else {
            return Answer(status: 405, contentType: "text/plain", body: "only GET and HEAD\n")
        }
        let path = String(parts[1].prefix { $0 != "?" })
        return respond(method, path)
    }

    static func reasonPhrase(_ status: Int) -> String {
        [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 431: "Request Header Fields Too Large",
         503: "Service Unavailable"][status] ?? "Status"
    }
}

final class MetricsConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let headLimit = 8192
    private let respond: MetricsServer.Responder
    private var head: [UInt8] = []
    private var answered = false
    private var idleClose: Scheduled<Void>?

    init(respond: @escaping MetricsServer.Responder) { self.respond = respond }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        idleClose = context.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleClose?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        var buffer = Self.unwrapInboundIn(data)
        head += buffer.readBytes(length: buffer.readableBytes) ?? []
        let end = head.firstRange(of: Array("\r\n\r\n".utf8)) ?? head.firstRange(of: Array("\n\n".utf8))
        if end == nil, head.count <= Self.headLimit { return }
        answered = true
        let answer = if let end, end.lowerBound <= Self.headLimit {
            MetricsServer.answer(head: head[..<end.lowerBound], respond: respond)
        } else {
            MetricsServer.Answer(status: 431, contentType: "text/plain", body: "request head over 8 KiB\n")
        }
        let isHead = head.starts(with: Array("HEAD ".utf8))
        let body = Array(answer.body.utf8)
        var out = context.channel.allocator.buffer(capacity: body.count + 160)
        out.writeString("HTTP/1.1 \(answer.status) \(MetricsServer.reasonPhrase(answer.status))\r\n"
            + "Content-Type: \(answer.contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n")
        if !isHead { out.writeBytes(body) }
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
