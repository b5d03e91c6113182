import Foundation
import Glibc
import Testing

/// RESP3 (HELLO 3), which newer clients ask for: the same command lists as the RESP2
/// parity tests, sent after HELLO 3 to the embedded store and to redis-server, with
/// replies compared as bytes (doubles, maps, sets, nulls and pushes included).
@Suite(.blockingAllowed) struct DataStoreResp3Tests {
    typealias Connection = DataStoreSafetyTests.Connection

    /// Both stores, each connection switched to RESP3.
    static func start() async throws -> DataStoreParityTests.Pair {
        let pair = try await DataStoreParityTests.Pair.start()
        let hellos = try await onThread { [try pair.ours.send(["HELLO", "3"]), try pair.theirs.send(["HELLO", "3"])] }
        for hello in hellos {
            #expect(hello.hasPrefix("%7\r\n") && hello.contains("$5\r\nproto\r\n:3\r\n"), "\(hello.debugDescription)")
        }
        return pair
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func theParityCommandsAnswerInRESP3AsRedis7Does() async throws {
        let pair = try await Self.start()
        defer { pair.server.shutdown() }
        let differences = try await pair.differences(ParityCommands.fixed + ParityCommands.streams)
        #expect(differences.isEmpty, "\(differences.count) differ:\n\(differences.joined(separator: "\n"))")
    }

    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func randomSequencesAnswerInRESP3AsRedis7Does() async throws {
        let pair = try await Self.start()
        defer { pair.server.shutdown() }
        let divergence = try await pair.divergence(of: 2000, label: "DataStoreResp3Tests")
        #expect(divergence == nil, "\(divergence ?? "")")
    }

    /// Pub/sub in RESP3: confirmations and messages are pushes, a subscribed client may
    /// run any command, and PING answers as usual. HELLO's options and errors, and RESET
    /// back to RESP2, as Redis has them.
    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func pushesHelloOptionsAndResetAsRedis() async throws {
        let pair = try await DataStoreParityTests.Pair.start()
        defer { pair.server.shutdown() }
        var transcripts: [[String]] = []
        for port in [try pair.server.port(service: "ds"), pair.redis.port] {
            let (subscriber, publisher) = (try Connection(port: port), try Connection(port: port))
            let transcript = try await onThread { () throws -> [String] in
                var lines = [try subscriber.send(["HELLO", "abc"]), try subscriber.send(["HELLO", "4"]), try subscriber.send(["HELLO", "3", "AUTH"]),
                             try subscriber.send(["HELLO", "3", "AUTH", "bob", "x"]), try subscriber.send(["HELLO", "3", "SETNAME"]),
                             try subscriber.send(["HELLO", "3", "SETNAME", "a b"]), try subscriber.send(["HELLO", "3", "FOO"]),
                             try subscriber.send(["CLIENT", "GETNAME"])]
                // Whatever the version and id, the reply is a map with proto 3 and the name set.
                let hello = try subscriber.send(["HELLO", "3", "AUTH", "default", "any", "SETNAME", "listener"])
                lines.append(hello.hasPrefix("%7\r\n") && hello.contains(":3\r\n") ? "hello ok" : hello)
                lines += [try subscriber.send(["CLIENT", "GETNAME"]), try subscriber.send(["SUBSCRIBE", "news"]),
                          try subscriber.send(["GET", "missing"]), try subscriber.send(["PING"]), try subscriber.send(["SET", "k", "v"]),
                          try publisher.send(["PUBLISH", "news", "hi"])]
                lines.append(try subscriber.send(raw: ""))   // the message, pushed
                lines += [try subscriber.send(["UNSUBSCRIBE"]), try subscriber.send(["RESET"]), try subscriber.send(["GET", "missing"]),
                          try subscriber.send(["CLIENT", "GETNAME"]), try subscriber.send(["ZSCORE", "nope", "a"])]
                return lines
            }
            transcripts.append(transcript)
        }
        #expect(transcripts[0] == transcripts[1])
        #expect(transcripts[1].contains(">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"), "\(transcripts[1])")
    }

    /// INFO and CLIENT LIST are verbatim strings in RESP3, with the same text as in RESP2.
    @Test(.enabled(if: RedisServer.available, "redis-server is missing: scripts/test installs it"))
    func infoAndClientListAreVerbatimText() async throws {
        let pair = try await Self.start()
        defer { pair.server.shutdown() }
        for connection in [pair.ours, pair.theirs] {
            let replies = try await onThread { [try connection.send(["INFO", "keyspace"]), try connection.send(["CLIENT", "INFO"])] }
            for reply in replies {
                let header = reply.prefix { $0 != "\r\n" }   // "\r\n" is one Character
                let body = String(reply.dropFirst(header.count + 1))
                #expect(header.hasPrefix("=") && body.hasPrefix("txt:") && Int(header.dropFirst()) == body.utf8.count - 2,
                        "\(reply.debugDescription)")
            }
        }
    }
}
