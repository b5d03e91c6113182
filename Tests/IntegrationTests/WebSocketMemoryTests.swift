import Arbiter
import Foundation
import Glibc
import PulseControl
import Testing

extension HeavyTests {
    /// WebSockets opened and closed by the thousand must not leave memory behind in
    /// the worker: its RSS stops growing after the first rounds.
    @Suite(.blockingAllowed) struct WebSocketMemoryTests {
        /// Opens and closes `count` sockets on `path`, `threads` at a time; each says
        /// hello and closes with 1000.
        static func churn(port: Int, path: String, count: Int, threads: Int = 4, user: String) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for thread in 0..<threads {
                    group.addTask {
                        try await onThread {
                            for index in stride(from: thread, to: count, by: threads) {
                                let socket = try WebSocketProbe(port: port, path: path, headers: ["Cookie": "pulse_user=\(user)\(index % 50)"])
                                try socket.send(text: "hello")
                                try socket.send(opcode: 0x8, [0x03, 0xE8])
                                _ = socket.isClosedByPeer()
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }

        /// The worker's RSS after the arbiter sampled it again, once the churn settled.
        static func settledRSS(_ server: PulseServer) async throws -> Int {
            _ = try await server.waitFor("every socket closed") { $0.services[0].workers.allSatisfy { ($0.websockets ?? 0) == 0 } }
            try await Task.sleep(for: .milliseconds(2200))                       // two /proc samples later
            return try server.status().services[0].workers[0].rssBytes
        }

        func rounds(path: String, perRound: Int, rounds: Int) async throws -> [Int] {
            let server = try PulseServer(binary: "pulse", arguments: ["-w", "1"])
            defer { server.shutdown() }
            try await server.waitForReady(1)
            if path == "/message" { try await server.waitForReady(1, service: "ds") }
            let port = try server.port()
            var samples: [Int] = []
            for round in 0..<rounds {
                try await Self.churn(port: port, path: path, count: perRound, user: "r\(round)u")
                samples.append(try await Self.settledRSS(server))
            }
            let connections = try server.status().services[0].workers[0].connections
            #expect(connections == 0, "the worker still counts \(connections) connections")
            print("RSS after each round of \(perRound) sockets on \(path): \(samples.map { "\($0 >> 20) MiB" }.joined(separator: ", "))")
            return samples
        }

        @Test func fiveThousandEchoSocketsLeaveNothingBehind() async throws {
            let samples = try await rounds(path: "/ws/echo", perRound: 1000, rounds: 5)
            // Before the fix each 1,000 sockets kept about 3.7 MB: 11 MB over the last three rounds.
            #expect(samples[4] - samples[1] < 3 << 20, "RSS grew \((samples[4] - samples[1]) >> 10) KiB over three rounds")
        }

        @Test func chatSocketsComingAndGoingLeaveNothingBehind() async throws {
            let samples = try await rounds(path: "/message", perRound: 300, rounds: 5)
            #expect(samples[4] - samples[1] < 3 << 20, "RSS grew \((samples[4] - samples[1]) >> 10) KiB over three rounds")
        }
    }
}
