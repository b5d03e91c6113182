#if Vapor
import Mailbox
import PulsarRuntime
import Vapor

/// Runs a route's handler where the request's execution mode says: Vapor starts each
/// async handler in a task of its own, which keeps no executor preference, so the
/// request's pool thread (or the loop) is carried in the request and taken up again.
struct ExecutionModeResponder: AsyncResponder {
    let inner: any Vapor.Responder

    /// A route's responder with its handler wrapped: inside the route's middleware when
    /// it has some (a group's `AsyncMiddleware` runs the next responder in yet another
    /// task), so the handler itself runs on the request's pool thread or loop. Vapor's
    /// chain type is private; it is taken apart by reflection and built again with the
    /// public `makeResponder(chainingTo:)`, and wrapped whole if that ever fails.
    static func wrapping(_ responder: any Vapor.Responder) -> any Vapor.Responder {
        var middleware: [any Vapor.Middleware] = []
        var current = responder
        while String(describing: type(of: current)) == "HTTPMiddlewareResponder" {
            let parts = Mirror(reflecting: current)
            guard let outer = parts.descendant("middleware") as? any Vapor.Middleware,
                  let next = parts.descendant("responder") as? any Vapor.Responder else {
                return ExecutionModeResponder(inner: responder)
            }
            middleware.append(outer)
            current = next
        }
        return middleware.makeResponder(chainingTo: ExecutionModeResponder(inner: current))
    }

    func respond(to request: Vapor.Request) async throws -> Vapor.Response {
        let place = request.storage[ExecutionPlaceKey.self]
        return try await Execution.$mode.withValue(place?.mode) {
            try await Execution.$executor.withValue(place?.executor) {
                try await Execution.onRequestExecutor {
                    if let async = inner as? any AsyncResponder { return try await async.respond(to: request) }
                    return try await inner.respond(to: request).get()
                }
            }
        }
    }
}

struct ExecutionPlace: Sendable {
    var mode: ExecutionMode?
    var executor: (any TaskExecutor)?
}

struct ExecutionPlaceKey: StorageKey {
    typealias Value = ExecutionPlace
}
#endif
