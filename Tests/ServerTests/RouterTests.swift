import HTTPTypes
import NIOCore
import NIOEmbedded
@testable import Server
import Testing

@Suite struct RouterTests {
    let loop = EmbeddedEventLoop()

    func request(_ method: HTTPRequest.Method, _ target: String) -> Request {
        Request(method: method, target: target, eventLoop: loop)
    }

    func body(_ response: Response) -> String {
        guard case .buffer(let buffer) = response.body else { return "<stream>" }
        return String(buffer: buffer)
    }

    @Test func aFallbackAnswersWhatNoRouteMatchesInsteadOf404And405() async throws {
        var router = Router()
        router.get("/own") { _ in .text("own") }
        router.use { request, next in
            var response = try await next(request)
            response.headers[.server] = "wrapped"
            return response
        }
        router.fallback { request in .text("fallback \(request.method) \(request.target)") }
        #expect(body(try await router.respond(to: request(.get, "/own"))) == "own")
        let other = try await router.respond(to: request(.get, "/other/path?q=1"))
        #expect(body(other) == "fallback GET /other/path?q=1")
        #expect(other.headers[.server] == "wrapped")   // inside the middleware, as routes are
        #expect(body(try await router.respond(to: request(.delete, "/own"))) == "fallback DELETE /own")
    }

    @Test func matchesMethodsPathsAndParameters() async throws {
        var router = Router()
        router.get("/users/:id/posts/:post") { .text("\($0.pathParameters["id"]!)/\($0.pathParameters["post"]!)") }
        router.post("/users") { _ in .text("created", status: .created) }
        let found = try await router.respond(to: request(.get, "/users/ada%20l/posts/7?x=1"))
        #expect(body(found) == "ada l/7")
        #expect(try await router.respond(to: request(.post, "/users")).status == .created)
        #expect(try await router.respond(to: request(.get, "/nope")).status == .notFound)
        let wrong = try await router.respond(to: request(.delete, "/users"))
        #expect(wrong.status == .methodNotAllowed)
        #expect(wrong.headers[.allow] == "POST")
        #expect(try await router.respond(to: request(.head, "/users/1/posts/2")).status == .ok)
    }

    @Test func queryItemsAreDecoded() {
        let parsed = request(.get, "/s?q=a+b&x=%2F&flag&q=second")
        #expect(parsed.path == "/s")
        #expect(parsed.query("q") == "a b")
        #expect(parsed.query("x") == "/")
        #expect(parsed.query("flag") == "")
        #expect(parsed.queryItems.count == 4)
    }

    @Test func middlewareWrapsInOrderAndSeesEverything() async throws {
        var router = Router()
        let trail = { (name: String) in
            ClosureMiddleware { request, next in
                var response = try await next(request)
                response.headers[HTTPField.Name("Trail")!] = name + (response.headers[HTTPField.Name("Trail")!] ?? "")
                return response
            }
        }
        router.use(trail("1"))
        router.use(trail("2"))
        router.get("/a") { _ in .text("a") }
        #expect(try await router.respond(to: request(.get, "/a")).headers[HTTPField.Name("Trail")!] == "12")
        #expect(try await router.respond(to: request(.get, "/missing")).headers[HTTPField.Name("Trail")!] == "12")
    }

    @Test func groupsPrefixAndScopeTheirMiddleware() async throws {
        var router = Router()
        router.group("/admin") { admin in
            admin.use { request, next in
                request.query("key") == "k" ? try await next(request) : .text("denied", status: .forbidden)
            }
            admin.get("/stats") { _ in .text("stats") }
            admin.group("/deep") { deep in deep.get("/x") { _ in .text("deep x") } }
        }
        router.get("/stats") { _ in .text("public") }
        #expect(try await router.respond(to: request(.get, "/admin/stats")).status == .forbidden)
        #expect(body(try await router.respond(to: request(.get, "/admin/stats?key=k"))) == "stats")
        #expect(body(try await router.respond(to: request(.get, "/admin/deep/x?key=k"))) == "deep x")
        #expect(try await router.respond(to: request(.get, "/admin/deep/x")).status == .forbidden)
        #expect(body(try await router.respond(to: request(.get, "/stats"))) == "public")
    }

    @Test func webSocketRoutesAreFoundAndAnswerPlainRequestsWith426() async throws {
        var router = Router()
        router.webSocket("/ws/:room", WebSocketHandlers())
        #expect(router.webSocketHandlers(for: "/ws/lobby")?.1 == ["room": "lobby"])
        #expect(router.webSocketHandlers(for: "/ws") == nil)
        #expect(try await router.respond(to: request(.get, "/ws/lobby")).status == .upgradeRequired)
    }

    @Test func handlerErrorsPropagateToTheServer() async {
        struct Boom: Error {}
        var router = Router()
        router.get("/boom") { _ in throw Boom() }
        await #expect(throws: Boom.self) { try await router.respond(to: request(.get, "/boom")) }
    }
}
