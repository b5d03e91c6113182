import Pulsar

/// The demo site `swift run pulse` serves: what a newcomer opens first.
var router = Router()
router.get("/hello") { _ in .text("Hello World!\n") }
let endpoints: [(String, String)] = [
    ("/", "this index"),
    ("/hello", "the seeds' Hello World!"),
]
router.get("/") { _ in
    let items = endpoints.map { "<li><a href=\"\($0.0)\">\($0.0)</a> — \($0.1)</li>" }.joined(separator: "\n")
    return .html("""
        <!doctype html>
        <html><head><meta charset="utf-8"><title>pulse</title></head>
        <body><h1>pulse</h1><p>Served by a pulse worker. Endpoints:</p>
        <ul>
        \(items)
        </ul></body></html>
        """)
}

Pulsar.main(app: App(router: router))
