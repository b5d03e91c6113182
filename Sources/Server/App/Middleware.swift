/// Wraps request handling: runs code before and after the handler, or answers
/// instead of it. pulsar's `WsgiHandler` chain, in Swift.
public protocol Middleware: Sendable {
    func respond(to request: Request, next: Handler) async throws -> Response
}

/// A middleware written as a closure.
public struct ClosureMiddleware: Middleware {
    let body: @Sendable (Request, Handler) async throws -> Response

    public init(_ body: @escaping @Sendable (Request, Handler) async throws -> Response) { self.body = body }

    public func respond(to request: Request, next: Handler) async throws -> Response {
        try await body(request, next)
    }
}

extension Array where Element == any Middleware {
    /// The handler wrapped by every middleware, the first one outermost.
    func wrapping(_ handler: @escaping Handler) -> Handler {
        reversed().reduce(handler) { next, middleware in
            { request in try await middleware.respond(to: request, next: next) }
        }
    }
}
