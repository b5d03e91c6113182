import Foundation
import HTTPTypes

/// An async function from request to response: what an app author writes.
public typealias Handler = @Sendable (Request) async throws -> Response

/// Routes requests by method and path. Segments written `:name` match any one
/// segment and are handed over in `Request.pathParameters`.
///
/// An unknown path answers 404; a known path with another method answers 405
/// with an `Allow` header.
public struct Router: Sendable {
    struct Route: Sendable {
        let method: HTTPRequest.Method
        let segments: [Substring]
        let handler: Handler
    }
    private var routes: [Route] = []

    public init() {}

    public mutating func on(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        routes.append(Route(method: method, segments: Self.segments(path), handler: handler))
    }

    public mutating func get(_ path: String, _ handler: @escaping Handler) { on(.get, path, handler) }
    public mutating func post(_ path: String, _ handler: @escaping Handler) { on(.post, path, handler) }

    /// The routes in registration order, for an index page.
    public var paths: [(method: String, path: String)] {
        routes.map { ($0.method.rawValue, "/" + $0.segments.joined(separator: "/")) }
    }

    public func respond(to request: Request) async throws -> Response {
        let requested = Self.segments(request.path)
        var allowed: [HTTPRequest.Method] = []
        for route in routes {
            guard let parameters = Self.match(route.segments, requested) else { continue }
            let method = request.method == .head ? HTTPRequest.Method.get : request.method
            guard route.method == method else {
                allowed.append(route.method)
                continue
            }
            var request = request
            request.pathParameters = parameters
            return try await route.handler(request)
        }
        if !allowed.isEmpty {
            var response = Response.text("Method Not Allowed\n", status: .methodNotAllowed)
            response.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            return response
        }
        return .text("Not Found\n", status: .notFound)
    }

    static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    static func match(_ pattern: [Substring], _ path: [Substring]) -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(pattern, path) {
            if expected.first == ":" {
                parameters[String(expected.dropFirst())] = String(actual).removingPercentEncoding ?? String(actual)
            } else if expected != actual {
                return nil
            }
        }
        return parameters
    }
}

