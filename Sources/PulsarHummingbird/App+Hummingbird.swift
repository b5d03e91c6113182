#if Hummingbird
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import Pulsar

// The entry point of a Hummingbird app, and nothing else of pulse (its `Request`,
// `Response` and `Router` would collide with Hummingbird's in the app's files).
@_exported import enum Pulsar.Pulsar

extension App {
    /// A Hummingbird app served by pulse workers with Hummingbird's own HTTP/1.1
    /// channel: build the `Router` as usual and hand it over.
    ///
    ///     let router = Router()
    ///     router.get("hello") { _, _ in "Hello World!\n" }
    ///     Pulsar.main(app: .hummingbird(router))
    ///
    /// Each request's handler runs in the worker's execution mode (on a pool thread,
    /// or as a task on its event loop); `boot` runs once per worker before it accepts.
    public static func hummingbird<Builder: HTTPResponderBuilder>(
        _ router: Builder, boot: @escaping @Sendable (WorkerContext) async throws -> Void = { _ in }
    ) -> App where Builder.Responder.Context: RequestContext,
                   Builder.Responder.Context.Source == ApplicationRequestContextSource {
        hummingbird(responder: router.buildResponder(), boot: boot)
    }

    /// Any `HTTPResponder` (a router already built, or one of the app's own), served
    /// the same way.
    public static func hummingbird<Responder: HTTPResponder>(
        responder: Responder, boot: @escaping @Sendable (WorkerContext) async throws -> Void = { _ in }
    ) -> App where Responder.Context: RequestContext, Responder.Context.Source == ApplicationRequestContextSource {
        App(hosted: HummingbirdServing<HTTP1Channel>(boot: boot) { host in
            HTTP1Channel(responder: ScheduledResponder.make(responder, on: host),
                         configuration: .init(additionalChannelHandlers: [HostedRequestTracker(host: host)],
                                              idleTimeout: host.keepAlive))
        })
    }

    /// A Hummingbird app with WebSocket routes (hummingbird-websocket's `router.ws`):
    /// served with `HTTP1WebSocketUpgradeChannel`, as `.http1WebSocketUpgrade` would.
    public static func hummingbird<Builder: HTTPResponderBuilder>(
        _ router: Builder, boot: @escaping @Sendable (WorkerContext) async throws -> Void = { _ in }
    ) -> App where Builder.Responder.Context: RequestContext & WebSocketRequestContext,
                   Builder.Responder.Context.Source == ApplicationRequestContextSource {
        hummingbird(router, webSocket: .init(), boot: boot)
    }

    /// The same, with the WebSocket configuration (frame size, pings, UTF-8 checks).
    public static func hummingbird<Builder: HTTPResponderBuilder>(
        _ router: Builder, webSocket: WebSocketServerConfiguration,
        boot: @escaping @Sendable (WorkerContext) async throws -> Void = { _ in }
    ) -> App where Builder.Responder.Context: RequestContext & WebSocketRequestContext,
                   Builder.Responder.Context.Source == ApplicationRequestContextSource {
        let responder = router.buildResponder()
        return App(hosted: HummingbirdServing<HTTP1WebSocketUpgradeChannel>(boot: boot) { host in
            HTTP1WebSocketUpgradeChannel(
                responder: ScheduledResponder.make(responder, on: host), webSocketResponder: responder,
                configuration: .init(http1: .init(additionalChannelHandlers: [HostedRequestTracker(host: host)],
                                                  idleTimeout: host.keepAlive),
                                     ws: webSocket))
        })
    }
}

extension HostingWorker {
    /// `--keep-alive`, for Hummingbird's idle timeout.
    var keepAlive: TimeAmount { .nanoseconds(Int64(min(max(settings.keepAlive, 0.001), 86_400) * 1e9)) }
}

/// Serves a worker's connections with a Hummingbird child channel (`HTTP1Channel`
/// or `HTTP1WebSocketUpgradeChannel`): `setup` on each accepted channel, then
/// `handle` as a task on the worker's loop until the connection closes.
struct HummingbirdServing<Child: ServerChildChannel>: HostedServing {
    let boot: @Sendable (WorkerContext) async throws -> Void
    let makeChild: @Sendable (HostingWorker) -> Child

    init(boot: @escaping @Sendable (WorkerContext) async throws -> Void, makeChild: @escaping @Sendable (HostingWorker) -> Child) {
        self.boot = boot
        self.makeChild = makeChild
    }

    func boot(_ host: HostingWorker) async throws {
        try await boot(host.context)
    }

    func connection(_ channel: Channel, host: HostingWorker) -> EventLoopFuture<@Sendable () async -> Void> {
        let child = host.context.shared(SharedChildChannel<Child>.self) { SharedChildChannel(child: makeChild(host)) }.child
        let logger = host.logger
        return child.setup(channel: channel, logger: logger).map { value in
            { await child.handle(value: value, logger: logger) }
        }
    }
}

enum ScheduledResponder {
    /// The responder closure `Application` would build, with the handler scheduled
    /// by the worker: on a pool thread or the loop, queued beyond the pool, 503 past
    /// the queue.
    static func make<Responder: HTTPResponder>(_ responder: Responder, on host: HostingWorker) -> HTTPChannelHandler.Responder
    where Responder.Context: RequestContext, Responder.Context.Source == ApplicationRequestContextSource {
        let logger = host.logger
        return { request, writer, channel in
            var requestLogger = logger
            requestLogger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
            let context = Responder.Context(source: .init(channel: channel, logger: requestLogger))
            var response: HummingbirdCore.Response
            do {
                response = try await host.run { try await responder.respond(to: request, context: context) }
            } catch is HostingWorker.QueueFull {
                response = HummingbirdCore.Response(status: .serviceUnavailable,
                                    headers: [.retryAfter: "1", .contentType: "text/plain; charset=utf-8"],
                                    body: .init(byteBuffer: ByteBuffer(string: "Service Unavailable: the worker's queue is full\n")))
            } catch let error as HTTPParserError {
                throw error
            } catch {
                // Hummingbird's Application says this at debug; a worker's log wants it.
                logger.error("\(request.method) \(request.uri.path) failed: \(error)")
                response = HummingbirdCore.Response(status: .internalServerError)
            }
            response.headers[.date] = HTTPDate.now()
            try await writer.write(response: response.head, body: response.body)
        }
    }
}

/// The child channel of a worker, made on its first connection and shared by all.
final class SharedChildChannel<Child: ServerChildChannel>: Sendable {
    let child: Child
    init(child: Child) { self.child = child }
}
#endif
