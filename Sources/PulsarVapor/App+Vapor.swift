#if Vapor
import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Mailbox
import PulsarRuntime
import Vapor

// The entry point of a Vapor app, and nothing else of pulse (its `Request` and
// `Response` would collide with Vapor's in the app's files).
@_exported import enum Pulsar.Pulsar

extension PulseApp {
    /// A Vapor application served by pulse workers: pulse provides its server
    /// (`app.servers.use`), so `configure(_:)` stays as it is.
    ///
    ///     Pulsar.main(app: .vapor { app in try await configure(app) })
    ///
    /// In each worker, `configure` runs on a new `Application` sharing the worker's
    /// event loop, then the app boots (its lifecycle handlers run) before the worker
    /// accepts. Requests reach Vapor's responder through pulse's HTTP pipeline, with
    /// their body collected (up to `--max-body`); each route handler runs in the
    /// worker's execution mode, on a pool thread or on the loop.
    public static func vapor(_ configure: @escaping @Sendable (Vapor.Application) async throws -> Void) -> Self {
        let mounted = MountedVaporApp()
        var router = PulseRouter()
        router.fallback { request in try await mounted.respond(to: request) }
        return PulseApp(router: router) { context in
            try await mounted.boot(context: context, configure: configure)
        }
    }
}

extension Vapor.Application {
    /// The pulse worker this application runs in: its name, settings (`--database`
    /// is `pulse.settings.database`) and shared values.
    public var pulse: WorkerContext {
        storage[PulseContextKey.self] ?? .standalone
    }
}

private struct PulseContextKey: StorageKey {
    typealias Value = WorkerContext
}

/// The Vapor application of one worker, once booted, and its responder (built once:
/// `app.responder.current` builds a new router each time it is read).
final class MountedVaporApp: Sendable {
    private let state = NIOLockedValueBox<(app: Vapor.Application, responder: any Vapor.Responder)?>(nil)

    struct NoEventLoop: Error, CustomStringConvertible {
        var description: String { "a Vapor app needs the worker's event loop: run it under pulse" }
    }

    func boot(context: WorkerContext, configure: @Sendable (Vapor.Application) async throws -> Void) async throws {
        guard let loop = context.eventLoop else { throw NoEventLoop() }
        // Vapor must not parse pulse's command line: it sees only its environment's name.
        let environment = Environment(name: ProcessInfo.processInfo.environment["VAPOR_ENV"] ?? "development",
                                      arguments: ["pulse"])
        let app = try await Vapor.Application.make(environment, .shared(loop))
        app.storage[PulseContextKey.self] = context
        app.servers.use { _ in PulseProvidedServer(loop: loop) }
        try await configure(app)
        for route in app.routes.all { route.responder = ExecutionModeResponder.wrapping(route.responder) }
        try await app.asyncBoot()
        try await app.server.start(address: nil)
        state.withLockedValue { $0 = (app, app.responder.current) }
    }

    func respond(to request: PulseRequest) async throws -> PulseResponse {
        guard let (app, responder) = state.withLockedValue({ $0 }) else {
            return .text("Service Unavailable: the app has not booted\n", status: .serviceUnavailable)
        }
        let incoming = VaporBridge.request(request, application: app)
        let response = try await responder.respond(to: incoming).get()
        return try await VaporBridge.response(response, for: incoming, on: request.eventLoop)
    }
}

/// Vapor's server, as far as Vapor knows: pulse's workers accept the connections,
/// so there is nothing to bind or close.
struct PulseProvidedServer: Vapor.Server {
    let loop: EventLoop
    var onShutdown: EventLoopFuture<Void> { loop.makeSucceededVoidFuture() }
    func start(address: BindAddress?) throws {}
    func start(address: BindAddress?) async throws {}
    func shutdown() {}
    func shutdown() async {}
}
#endif
