import Foundation
import HTTPTypes

/// An async function from request to response: what an app author writes.
public typealias Handler = @Sendable (Request) async throws -> Response

/// Routes requests by method and path. Segments written `:name` match any one
/// segment and are handed over in `Request.pathParameters`.
///
/// Middleware added with `use` wraps everything this router answers, 404 and 405
/// included, in the order added (the first is outermost). A `group` shares a path
/// prefix and middleware of its own. An unknown path answers 404; a known path with
/// another method answers 405 with an `Allow` header.
public struct Router: Sendable {
    struct Route: Sendable {
        let method: HTTPRequest.Method
        let segments: [Substring]
        let handler: Handler
        /// Upgrades to a WebSocket instead of answering.
        var webSocket: WebSocketHandlers? = nil
        var body: BodyMode = .collect
    }

    /// How a route receives request bodies.
    public enum BodyMode: Sendable {
        /// Read in full, up to `--max-body`, before the handler runs (pulsar's `wait_for_body_middleware`).
        case collect
        /// The handler runs at once and reads `Request.bodyStream` as it arrives; `--max-body` does not apply.
        case stream
    }
    private(set) var routes: [Route] = [] {
        didSet {
            streams = routes.contains { $0.body == .stream }
            webSocketPatterns = routes.filter { $0.webSocket != nil }.map(\.segments)
        }
    }
    /// Whether any route streams its body, and the paths that speak WebSocket: the
    /// questions asked of every request's head walk no more routes than they must.
    private var streams = false
    private var webSocketPatterns: [[Substring]] = []
    private var middleware: [any Middleware] = []
    private var fallbackHandler: Handler?

    public init() {}

    public mutating func on(_ method: HTTPRequest.Method, _ path: String, body: BodyMode = .collect,
                            _ handler: @escaping Handler) {
        routes.append(Route(method: method, segments: Self.segments(path), handler: handler, body: body))
    }

    public mutating func get(_ path: String, _ handler: @escaping Handler) { on(.get, path, handler) }
    public mutating func post(_ path: String, body: BodyMode = .collect, _ handler: @escaping Handler) {
        on(.post, path, body: body, handler)
    }
    public mutating func put(_ path: String, body: BodyMode = .collect, _ handler: @escaping Handler) {
        on(.put, path, body: body, handler)
    }
    public mutating func delete(_ path: String, _ handler: @escaping Handler) { on(.delete, path, handler) }

    /// Adds a middleware around everything this router answers.
    public mutating func use(_ middleware: some Middleware) { self.middleware.append(middleware) }

    /// Adds a middleware written as a closure.
    public mutating func use(_ body: @escaping @Sendable (Request, Handler) async throws -> Response) {
        middleware.append(ClosureMiddleware(body))
    }

    /// Routes sharing `prefix`; the group's own middleware wraps only its routes.
    public mutating func group(_ prefix: String, _ build: (inout Router) -> Void) {
        var group = Router()
        build(&group)
        let prefixSegments = Self.segments(prefix)
        for route in group.routes {
            routes.append(Route(method: route.method, segments: prefixSegments + route.segments,
                                handler: group.middleware.wrapping(route.handler), webSocket: route.webSocket,
                                body: route.body))
        }
    }

    /// Answers every request no route matches, instead of 404 or 405: how a whole
    /// router of another framework (Vapor's) is mounted behind pulse's pipeline.
    public mutating func fallback(_ handler: @escaping Handler) { fallbackHandler = handler }

    /// A WebSocket endpoint: a GET with `Upgrade: websocket` on `path` switches protocols.
    public mutating func webSocket(_ path: String, _ handlers: WebSocketHandlers) {
        routes.append(Route(method: .get, segments: Self.segments(path), handler: { _ in
            var response = Response.text("This endpoint speaks WebSocket: connect with Upgrade: websocket\n", status: .upgradeRequired)
            response.headers[.upgrade] = "websocket"
            response.headers[.secWebSocketVersion] = "13"
            return response
        }, webSocket: handlers))
    }

    /// The routes in registration order, for an index page.
    public var paths: [(method: String, path: String)] {
        routes.map { ($0.method.rawValue, "/" + $0.segments.joined(separator: "/")) }
    }

    /// Answers `request`: the matching route's handler inside every middleware.
    public func respond(to request: Request) async throws -> Response {
        // Without middleware, no chain of closures is built for each request.
        if middleware.isEmpty { return try await dispatch(request) }
        return try await middleware.wrapping(dispatch)(request)
    }

    /// How the route answering `method` on `path` takes its body.
    func bodyMode(method: HTTPRequest.Method, path: String) -> BodyMode {
        bodyMode(method: method, segments: Self.segments(path))
    }

    func bodyMode(method: HTTPRequest.Method, segments requested: [Substring]) -> BodyMode {
        guard streams else { return .collect }
        return routes.first { $0.method == method && Self.matches($0.segments, requested) }?.body ?? .collect
    }

    /// The WebSocket handlers for a path, when it has any.
    func webSocketHandlers(for path: String) -> (WebSocketHandlers, [String: String])? {
        webSocketHandlers(segments: Self.segments(path))
    }

    func webSocketHandlers(segments requested: [Substring]) -> (WebSocketHandlers, [String: String])? {
        for route in routes {
            if let handlers = route.webSocket, Self.matches(route.segments, requested) {
                return (handlers, Self.parameters(route.segments, requested))
            }
        }
        return nil
    }

    /// Whether a path has a WebSocket route, without building its parameters.
    func hasWebSocket(segments requested: [Substring]) -> Bool {
        webSocketPatterns.contains { Self.matches($0, requested) }
    }

    private func dispatch(_ request: Request) async throws -> Response {
        let requested = Self.segments(request.path)
        var allowed: [HTTPRequest.Method] = []
        let method = request.method == .head ? HTTPRequest.Method.get : request.method
        for index in routes.indices where Self.matches(routes[index].segments, requested) {
            let route = routes[index]
            guard route.method == method else {
                if !allowed.contains(route.method) { allowed.append(route.method) }
                continue
            }
            let parameters = Self.parameters(route.segments, requested)
            // A route without `:name` segments leaves the request as it came: no copy.
            if parameters.isEmpty, request.pathParameters.isEmpty { return try await route.handler(request) }
            var request = request
            request.pathParameters = parameters
            return try await route.handler(request)
        }
        if let fallbackHandler { return try await fallbackHandler(request) }
        if !allowed.isEmpty {
            var response = Response.text("Method Not Allowed\n", status: .methodNotAllowed)
            response.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            return response
        }
        return .text("Not Found\n", status: .notFound)
    }

    static func segments(_ path: some StringProtocol) -> [Substring] {
        TargetSplitting.segments(Substring(path))
    }

    /// Whether `path` fits `pattern`; nothing is allocated for routes that do not.
    static func matches(_ pattern: [Substring], _ path: [Substring]) -> Bool {
        guard pattern.count == path.count else { return false }
        for (expected, actual) in zip(pattern, path) where !isParameter(expected) && expected != actual {
            return false
        }
        return true
    }

    /// Whether a pattern's segment is `:name`: its first Character is ":". The byte
    /// is looked at first, since taking a Character builds a String.
    static func isParameter(_ segment: Substring) -> Bool {
        segment.utf8.first == UInt8(ascii: ":") && segment.first == ":"
    }

    /// The `:name` values of a path that `matches` the pattern, percent-decoded.
    static func parameters(_ pattern: [Substring], _ path: [Substring]) -> [String: String] {
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(pattern, path) where isParameter(expected) {
            parameters[String(expected.dropFirst())] = String(actual).removingPercentEncoding ?? String(actual)
        }
        return parameters
    }

    static func match(_ pattern: [Substring], _ path: [Substring]) -> [String: String]? {
        matches(pattern, path) ? parameters(pattern, path) : nil
    }
}
