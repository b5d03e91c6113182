import Foundation
import Pulsar

// The demo site `swift run pulse` serves: what a newcomer opens to see the
// execution modes, and later the dashboard, at work.
var router = Router()
let endpoints: [(path: String, what: String)] = [
    ("/", "the chat: messages and presence synced across workers through the data store"),
    ("/hello", "the seeds' Hello World!"),
    ("/sleep?ms=200", "waits 200 ms: suspends in cooperative mode, holds a pool thread in thread mode"),
    ("/cpu?ms=50", "keeps a CPU busy for 50 ms"),
    ("/db?ms=300", "SELECT pg_sleep(0.3) (with --database): blocks a pool thread, or suspends"),
    ("/db/now", "the database server's time (with --database)"),
    ("/echo", "POST: answers with the request body"),
    ("/ws/echo", "WebSocket: echoes every message"),
]

router.get("/endpoints") { _ in
    let items = endpoints.map { "<li><a href=\"\($0.path)\">\($0.path)</a> — \($0.what)</li>" }.joined(separator: "\n")
    return .html("""
        <!doctype html>
        <html><head><meta charset="utf-8"><title>pulse</title></head>
        <body><h1>pulse</h1><p>Served by a pulse worker. Endpoints:</p>
        <ul>
        \(items)
        </ul>
        <p>Try <code>pulse ctl mode cooperative</code> and <code>pulse ctl status</code>.</p></body></html>
        """)
}
router.get("/hello") { _ in .text("Hello World!\n") }
router.get("/sleep") { request in
    let ms = min(max(Int(request.query("ms") ?? "") ?? 100, 0), 60_000)
    try await Execution.sleep(milliseconds: ms)
    return .text("slept \(ms) ms in \(Execution.mode?.rawValue ?? "no") mode\n")
}
router.get("/cpu") { request in
    let ms = min(max(Int(request.query("ms") ?? "") ?? 10, 0), 10_000)
    Execution.spin(milliseconds: ms)
    return .text("busy for \(ms) ms\n")
}
router.get("/db") { request in
    let ms = min(max(Int(request.query("ms") ?? "") ?? 100, 0), 60_000)
    return try await withDatabase(request.context) { database in
        _ = try await database.query("SELECT pg_sleep($1)", [Double(ms) / 1000])
        return .text("slept \(ms) ms in the database, \(Execution.mode?.rawValue ?? "no") mode\n")
    }
}
router.get("/db/now") { request in
    try await withDatabase(request.context) { database in
        let now = try await database.query("SELECT now() AS now").rows[0].decode("now", as: Date.self)
        return try .json(["now": ISO8601DateFormatter().string(from: now)])
    }
}
router.post("/echo") { request in
    var response = Response(body: request.body)
    response.headers[.contentType] = request.headers[.contentType] ?? "application/octet-stream"
    return response
}
router.webSocket("/ws/echo", WebSocketHandlers(
    onText: { socket, text in try? await socket.send(text: text) },
    onBinary: { socket, data in try? await socket.send(binary: data) }))

/// Runs `body` with the worker's database; 503 with a JSON reason when there is
/// none or it is down, so clients know to come back.
@Sendable func withDatabase(_ context: WorkerContext, _ body: (PostgresClient) async throws -> Response) async throws -> Response {
    guard let database = PostgresClient.forWorker(context) else {
        return try .json(["error": "no database: start pulse with --database postgres://..."], status: .serviceUnavailable)
    }
    do {
        return try await body(database)
    } catch let error as PostgresError where error.isConnectionFailure {
        var response = try Response.json(["error": "the database is unavailable", "detail": error.message], status: .serviceUnavailable)
        response.headers[.retryAfter] = "1"
        return response
    }
}

Chat.routes(&router)

Pulsar.main(app: App(router: router) { context in
    // Made at boot (its pools connect on first use), so the heartbeats report the database
    // pool from the start: the dashboard shows it, and its demo load knows to send /db.
    _ = PostgresClient.forWorker(context)
    try await Chat.boot(context)
})
