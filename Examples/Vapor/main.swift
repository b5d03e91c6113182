// A Vapor app under pulse: `swift run --traits Vapor pulse-vapor-example` takes every
// `pulse` flag (-w 4, --thread-workers 20, --greenlet 200, --database postgres://...).
#if Vapor
import Fluent
import FluentPostgresDriver
import Foundation
import PulsarVapor
import Vapor

/// The app's `configure`, as a Vapor project has it: pulse does not change it.
@Sendable func configure(_ app: Application) async throws {
    app.get("hello") { _ in "Hello World!\n" }
    app.get("block") { request -> String in
        // Blocks its thread, as a blocking driver would: fine in thread mode.
        let ms = min(max(request.query[Int.self, at: "ms"] ?? 100, 0), 60_000)
        usleep(UInt32(ms) * 1000)
        return "blocked \(ms) ms\n"
    }
    // Behind an AsyncMiddleware (which runs the route in a task of its own): the
    // handler still blocks its pool thread, not Swift's shared pool.
    app.grouped(TrailMiddleware()).get("grouped", "block") { request -> String in
        let ms = min(max(request.query[Int.self, at: "ms"] ?? 100, 0), 60_000)
        usleep(UInt32(ms) * 1000)
        return "blocked \(ms) ms behind a middleware\n"
    }
    app.get("sleep") { request async throws -> String in
        let ms = min(max(request.query[Int.self, at: "ms"] ?? 100, 0), 60_000)
        try await Task.sleep(for: .milliseconds(ms))
        return "slept \(ms) ms\n"
    }
    app.on(.POST, "echo", body: .collect(maxSize: "1mb")) { request -> Response in
        Response(status: .ok, headers: ["Content-Type": request.headers.contentType?.serialize() ?? "application/octet-stream"],
                 body: .init(buffer: request.body.data ?? ByteBuffer()))
    }
    app.on(.POST, "upload", body: .stream) { request async throws -> String in
        // A streaming route: under pulse its body arrives collected, then as one piece.
        var bytes = 0
        for try await piece in request.body { bytes += piece.readableBytes }
        return "received \(bytes) bytes\n"
    }
    app.get("log") { request -> String in
        request.logger.info("logged \(request.query[String.self, at: "word"] ?? "-")")
        return "logged\n"
    }
    app.get("teapot") { _ -> String in throw Abort(.imATeapot, reason: "short and stout") }
    app.webSocket("ws", "echo") { _, socket in
        socket.onText { socket, text in socket.send(text) }
        socket.onBinary { socket, data in socket.send(data) }
    }
    if let url = app.pulse.settings.database {
        try app.databases.use(.postgres(url: url), as: .psql)
        app.lifecycle.use(CreateNotes())
        app.get("notes") { request in try await Note.query(on: request.db).sort(\.$text).all() }
        app.post("notes") { request -> Note in
            let note = Note(text: try request.content.decode(NewNote.self).text)
            try await note.save(on: request.db)
            return note
        }
    }
}

struct TrailMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        response.headers.replaceOrAdd(name: "X-Trail", value: "grouped")
        return response
    }
}

// @unchecked: Fluent's models are classes with property wrappers, as Fluent documents them.
final class Note: Model, Content, @unchecked Sendable {
    static let schema = "notes"
    @ID(key: .id) var id: UUID?
    @Field(key: "text") var text: String
    init() {}
    init(text: String) { self.text = text }
}

struct NewNote: Content { var text: String }

/// Creates the table at boot; workers boot together, so an advisory lock takes turns.
struct CreateNotes: LifecycleHandler {
    func didBootAsync(_ app: Application) async throws {
        guard let sql = app.db as? any SQLDatabase else { return }
        try await sql.raw("""
            DO $$ BEGIN
              PERFORM pg_advisory_xact_lock(7460);
              CREATE TABLE IF NOT EXISTS notes (id uuid PRIMARY KEY, text text NOT NULL);
            END $$
            """).run()
    }
}

if let address = ProcessInfo.processInfo.environment["PULSE_EXAMPLE_STANDALONE"] {
    // The same app under Vapor's own server (`app.execute()`), one process: the peer
    // scripts/bench-frameworks measures pulse against.
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
        fatalError("PULSE_EXAMPLE_STANDALONE must be HOST:PORT (got '\(address)')")
    }
    var environment = Environment(name: "production", arguments: ["vapor"])
    try LoggingSystem.bootstrap(from: &environment)   // notice in production: no line per request
    let app = try await Application.make(environment)
    try await configure(app)
    app.http.server.configuration.hostname = String(address[..<colon])
    app.http.server.configuration.port = port
    try await app.execute()
    try await app.asyncShutdown()
} else {
    Pulsar.main(app: .vapor(configure))
}
#else
print("pulse-vapor-example needs the Vapor trait: swift run --traits Vapor pulse-vapor-example")
#endif
