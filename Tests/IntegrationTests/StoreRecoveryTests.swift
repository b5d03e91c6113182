import Arbiter
import Foundation
import Glibc
import Mailbox
import PulseControl
import Testing

extension HeavyTests {
    /// The chat through a data store that crashes and comes back: the embedded store
    /// killed with SIGKILL (the arbiter respawns it), or a real redis-server killed and
    /// started again on its port. Every client must hear every message again soon after.
    @Suite(.blockingAllowed) struct StoreRecoveryTests {
        enum Backend: String, CaseIterable, Sendable { case embedded, redis }

        struct ChatEvent: Decodable {
            let channel: String
            let event: String?
            let user: String?
            let message: String?
        }

        /// Reads events until `done` holds or `timeout` passes without a frame.
        static func events(_ socket: WebSocketProbe, timeout: Double, until done: ([ChatEvent]) -> Bool) -> [ChatEvent] {
            socket.setReceiveTimeout(timeout)
            var seen: [ChatEvent] = []
            while !done(seen), let frame = try? socket.receiveSkippingPings() {
                guard frame.opcode == 0x1, let event = try? JSONDecoder().decode(ChatEvent.self, from: Data(frame.payload)) else { continue }
                seen.append(event)
            }
            return seen
        }

        /// Clients connect until both workers hold some.
        func connectChat(_ server: PulseServer, count: Int) async throws -> [WebSocketProbe] {
            let port = try server.port()
            var clients: [WebSocketProbe] = []
            for index in 0..<(count + 8) {
                let client = try await onThread { try WebSocketProbe(port: port, path: "/message", headers: ["Cookie": "pulse_user=user\(index)"]) }
                _ = try await onThread { Self.events(client, timeout: 10) { $0.contains { $0.event == "users" } } }
                clients.append(client)
                let connected = clients.count
                let status = try await server.waitFor("the sockets counted") { status in
                    status.services[0].workers.map { $0.websockets ?? 0 }.reduce(0, +) == connected
                }
                if clients.count >= count, status.services[0].workers.allSatisfy({ ($0.websockets ?? 0) > 0 }) { break }
            }
            return clients
        }

        /// True when a message from the first client reaches every client, each within `within` seconds.
        func delivered(_ text: String, to clients: [WebSocketProbe], within: Double = 20) async throws -> Bool {
            try clients[0].send(text: text)
            var reached = 0
            for client in clients {
                let seen = try await onThread { Self.events(client, timeout: within) { $0.contains { $0.message == text } } }
                if seen.contains(where: { $0.message == text }) { reached += 1 }
            }
            return reached == clients.count
        }

        static let cases: [(Backend, ExecutionMode)] = [(.embedded, .thread), (.embedded, .cooperative), (.redis, .thread), (.redis, .cooperative)]

        @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"), arguments: cases)
        func theChatHearsEveryMessageAgainAfterTheStoreRestarts(backend: Backend, mode: ExecutionMode) async throws {
            let redis = backend == .redis ? try await RedisServer.start() : nil
            let store = redis.map { ["--data-store", "redis://127.0.0.1:\($0.port)/0"] } ?? []
            let server = try PulseServer(binary: "pulse", arguments: ["-w", "2", "--mode", mode.rawValue] + store)
            defer { server.shutdown() }
            try await server.waitForReady(2)
            if redis == nil { try await server.waitForReady(1, service: "ds") }
            let clients = try await connectChat(server, count: 8)
            #expect(try await delivered("before", to: clients))

            var seenEarlier: [ChatEvent] = []
            if let redis {
                redis.stop()
                // The status says so while it is down, and a message sent meanwhile is
                // refused to its sender, not silently lost.
                _ = try await server.waitFor("the store reported down", timeout: 30) { status in
                    status.services[0].dataStoreUnreachable.count == 2
                }
                try clients[1].send(text: "while down")
                let refusal = try await onThread { Self.events(clients[1], timeout: 20) { $0.contains { $0.channel == "error" } } }
                #expect(refusal.contains { $0.channel == "error" && $0.message == "the data store is unavailable" })
                seenEarlier = refusal
                try await redis.start()
            } else {
                let old = try #require(try server.workerPIDs(service: "ds").first)
                kill(old, SIGKILL)
                _ = try await server.waitFor("a new store") { status in
                    status.services.first { $0.name == "ds" }?.workers.contains { $0.pid != old && $0.state == .ready } == true
                }
            }
            let back = ContinuousClock.now
            // Every client hears that the chat lost its store, and that it is back.
            for (index, client) in clients.enumerated() {
                let said = (index == 1 ? seenEarlier : [])
                    + (try await onThread { Self.events(client, timeout: 30) { $0.contains { $0.channel == "status" && $0.event == "connected" } } })
                #expect(said.contains { $0.channel == "status" && $0.event == "reconnecting" })
                #expect(said.contains { $0.channel == "status" && $0.event == "connected" })
            }
            var attempt = 0
            // Short waits while it comes back: a message sent before then may be lost.
            while try await !delivered("after \(attempt)", to: clients, within: 1) {
                attempt += 1
                #expect(ContinuousClock.now - back < .seconds(45), "the chat did not come back")
                if ContinuousClock.now - back >= .seconds(45) { return }
            }
            print("store recovery (\(backend), \(mode)): messages flow again \(ContinuousClock.now - back) after the store is back")
            if redis != nil {
                _ = try await server.waitFor("the store reported back", timeout: 30) { $0.services[0].dataStoreUnreachable.isEmpty }
            }
            // Every client, every message, from every client, from now on.
            for (index, client) in clients.enumerated() { try client.send(text: "round \(index)") }
            for client in clients {
                let seen = try await onThread { Self.events(client, timeout: 20) { events in
                    Set(events.compactMap(\.message).filter { $0.hasPrefix("round ") }).count == clients.count
                } }
                #expect(Set(seen.compactMap(\.message).filter { $0.hasPrefix("round ") }).count == clients.count)
            }
        }

        @Test func theChatWorksWithAPasswordOnTheStore() async throws {
            let server = try PulseServer(binary: "pulse", arguments: ["-w", "1", "--ds-password", "s3cret"])
            defer { server.shutdown() }
            try await server.waitForReady(1)
            try await server.waitForReady(1, service: "ds")
            let clients = try await connectChat(server, count: 2)
            #expect(try await delivered("with a password", to: clients))
        }
    }
}
