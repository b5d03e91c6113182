import Pulsar

// The demo site `swift run pulse` serves: what a newcomer opens to see the
// execution modes, and later the dashboard, at work.
var router = Router()
let endpoints: [(path: String, what: String)] = [
    ("/", "the chat: messages and presence synced across workers through the data store"),
    ("/hello", "the seeds' Hello World!"),
    ("/sleep?ms=200", "waits 200 ms: suspends in cooperative mode, holds a pool thread in thread mode"),
    ("/cpu?ms=50", "keeps a CPU busy for 50 ms"),
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
router.post("/echo") { request in
    var response = Response(body: request.body)
    response.headers[.contentType] = request.headers[.contentType] ?? "application/octet-stream"
    return response
}
router.webSocket("/ws/echo", WebSocketHandlers(
    onText: { socket, text in try? await socket.send(text: text) },
    onBinary: { socket, data in try? await socket.send(binary: data) }))

Chat.routes(&router)

Pulsar.main(app: App(router: router, boot: Chat.boot))
