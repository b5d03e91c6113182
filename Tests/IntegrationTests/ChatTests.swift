import Arbiter
import PulseControl
import Postgres
import Foundation
import Glibc
import Testing

/// The chat demo end to end: WebSocket clients spread over two workers, messages
/// and presence synced through the data store, embedded or a real Redis.
@Suite(.blockingAllowed) struct ChatTests {
    enum Backend: String, CaseIterable { case embedded, redis }

    struct ChatEvent: Decodable {
        let channel: String
        let event: String?
        let user: String?
        let users: [String]?
        let message: String?
        let authenticated: Bool?
        let time: Double?
    }

    func events(_ socket: WebSocketProbe, until done: ([ChatEvent]) -> Bool) throws -> [ChatEvent] {
        var seen: [ChatEvent] = []
        while !done(seen) {
            let frame = try socket.receiveSkippingPings()
            guard frame.opcode == 0x1 else { continue }
            seen.append(try JSONDecoder().decode(ChatEvent.self, from: Data(frame.payload)))
        }
        return seen
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"), arguments: Backend.allCases)
    func everyClientOnEveryWorkerSeesEveryMessageAndThePresence(backend: Backend) async throws {
        let redis = backend == .redis ? try await RedisServer.start() : nil
        let store = redis.map { ["--data-store", "redis://127.0.0.1:\($0.port)/1"] } ?? []
        let server = try PulseServer(binary: "pulse", arguments: ["-w", "2"] + store)
        defer { server.shutdown() }
        try await server.waitForReady(2)
        if redis == nil { try await server.waitForReady(1, service: "ds") }
        let port = try server.port()

        // Connect until both workers hold sockets (accepting spreads them, but not by rule).
        var clients: [WebSocketProbe] = []
        var names: [String] = []
        for index in 0..<12 {
            let name = "user\(index)"
            let client = try await onThread { try WebSocketProbe(port: port, path: "/message", headers: ["Cookie": "pulse_user=\(name)"]) }
            // The newcomer's roster arrives after its history: it is in the room now.
            _ = try await onThread { try events(client) { $0.contains { $0.event == "users" } } }
            clients.append(client)
            names.append(name)
            let connected = clients.count
            let spread = try await server.waitFor("the sockets counted") { status in
                status.services[0].workers.map { $0.websockets ?? 0 }.reduce(0, +) == connected
            }
            if clients.count >= 4, spread.services[0].workers.allSatisfy({ ($0.websockets ?? 0) > 0 }) { break }
        }
        let status = try server.status()
        #expect(status.services[0].workers.allSatisfy { ($0.websockets ?? 0) > 0 }, "all sockets landed on one worker")

        let everyone = clients
        for (index, client) in everyone.enumerated() { try client.send(text: "hello from \(index)") }
        for client in everyone {
            let received = try await onThread {
                try events(client) { seen in seen.filter { $0.channel == "webchat" }.count >= everyone.count }
            }
            let messages = Set(received.filter { $0.channel == "webchat" }.compactMap { "\($0.user ?? ""): \($0.message ?? "")" })
            #expect(messages == Set(everyone.indices.map { "user\($0): hello from \($0)" }))
            #expect(received.filter { $0.channel == "webchat" }.allSatisfy { $0.authenticated == false && ($0.time ?? 0) > 0 })
        }

        // Presence: a newcomer is announced to everyone and gets the history; leaving is announced.
        let late = try await onThread { try WebSocketProbe(port: port, path: "/message", headers: ["Cookie": "pulse_user=latecomer"]) }
        let welcome = try await onThread { try events(late) { $0.contains { $0.event == "users" } } }
        #expect(welcome.filter { $0.channel == "webchat" }.count == everyone.count)
        #expect(Set(welcome.first { $0.event == "users" }?.users ?? []) == Set(names + ["latecomer"]))
        let joined = try await onThread { try events(everyone[0]) { $0.contains { $0.event == "joined" && $0.user == "latecomer" } } }
        #expect(!joined.isEmpty)
        try late.send(opcode: 0x8, [0x03, 0xE8])
        let gone = try await onThread { try events(everyone[1]) { $0.contains { $0.event == "gone" && $0.user == "latecomer" } } }
        #expect(!gone.isEmpty)
    }

    @Test func thePageSetsAnAnonymousNameAndOpensTheSocket() async throws {
        let server = try PulseServer(binary: "pulse", arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let page = try await onThread { [port = try server.port()] in try HTTPProbe.get(port: port, "/") }
        #expect(page.status == 200)
        #expect(page.body.contains("new WebSocket") && page.body.contains("/message"))
        #expect(!page.body.contains("https://cdn") && !page.body.contains("<script src"))
        let cookie = try #require(page.headers["set-cookie"])
        #expect(cookie.range(of: #"^pulse_user=an_[a-z0-9]{6}; Path=/"#, options: .regularExpression) != nil)
    }
}

extension ChatTests {
    @Test func withADatabaseTheHistoryLivesInPostgreSQL() async throws {
        let cluster = try await onThread { try PostgresCluster.shared() }
        let migrated = try await runCommand("pulse", ["migrate", "--database", cluster.url])
        #expect(migrated.status == 0)
        let server = try PulseServer(binary: "pulse", arguments: ["-w", "1", "--database", cluster.url])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        try await server.waitForReady(1, service: "ds")
        let port = try server.port()
        let marker = "stored in postgres \(UUID().uuidString)"
        try await onThread {
            let client = try WebSocketProbe(port: port, path: "/message", headers: ["Cookie": "pulse_user=writer"])
            _ = try events(client) { $0.contains { $0.event == "users" } }
            try client.send(text: marker)
            _ = try events(client) { $0.contains { $0.message == marker } }
        }
        let connection = try await PostgresConnection.connect(try PostgresConfiguration(url: cluster.url))
        let rows = try await connection.query("SELECT body->>'message' AS message, body->>'user' AS user FROM chat_messages WHERE body->>'message' = $1", [marker])
        #expect(rows.rows.count == 1)
        let writer = try rows.rows.first?.decode("user", as: String.self)
        #expect(writer == "writer")
        // A newcomer's history comes from the table.
        let history = try await onThread {
            let client = try WebSocketProbe(port: port, path: "/message", headers: ["Cookie": "pulse_user=reader"])
            return try events(client) { $0.contains { $0.event == "users" } }
        }
        #expect(history.contains { $0.message == marker })
    }
}
