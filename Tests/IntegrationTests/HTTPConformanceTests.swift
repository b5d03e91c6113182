import Foundation
import Glibc
import Testing

extension HeavyTests {
    /// RFC 9112 and RFC 9110 at the edges a proxy in front, or an attacker, reaches:
    /// raw bytes over a real socket to the real binary, one test per behaviour.
    @Suite(.blockingAllowed) struct HTTPConformanceTests {
        /// What came back for some bytes: everything read, and how the connection ended.
        struct Exchange {
            enum End { case closed, reset, open }
            let text: String
            let end: End
            var statuses: [Int] {
                text.components(separatedBy: "HTTP/1.").dropFirst().compactMap { Int($0.dropFirst(2).prefix(3)) }
            }
        }

        /// A server of its own with one worker and no data store (nothing here uses one).
        static func server() async throws -> PulseServer {
            let server = try PulseServer(arguments: ["-w", "1", "--data-store", "redis://127.0.0.1:9/0"])
            try await server.waitForReady(1)
            return server
        }

        /// Sends `bytes` and reads until the server closes or, once it has answered, is
        /// quiet for `quiet` seconds. The first answer may take up to 30 s: every case
        /// here gets one, and a stalled machine must not make "nothing yet" look like an end.
        static func exchange(_ server: PulseServer, _ bytes: String, quiet: Double = 0.7) async throws -> Exchange {
            let port = try server.port()
            return try await onThread {
                let fd = try HTTPProbe.connect(port: port, timeout: 30)
                defer { close(fd) }
                try HTTPProbe.sendAll(fd, Array(bytes.utf8))
                var received: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if count > 0 {
                        if received.isEmpty {
                            var limit = timeval(tv_sec: Int(quiet), tv_usec: Int((quiet - quiet.rounded(.down)) * 1_000_000))
                            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                        }
                        received += chunk[..<count]
                        continue
                    }
                    let end: Exchange.End = count == 0 ? .closed : errno == ECONNRESET ? .reset : .open
                    return Exchange(text: String(decoding: received, as: UTF8.self), end: end)
                }
            }
        }

        static let host = "Host: test\r\n"
        static let next = "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n"

        // MARK: - Framing

        @Test func anEmptyTransferEncodingIs400AndCloses() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            for value in ["", "   "] {
                let reply = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding:\(value)\r\nContent-Length: 0\r\n\r\n\(Self.next)")
                #expect(reply.statuses == [400], "Transfer-Encoding: '\(value)'")
                #expect(reply.end == .closed)
            }
        }

        @Test func transferEncodingOnHTTP10Is400() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let reply = try await Self.exchange(server, "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
            #expect(reply.statuses == [400])
            #expect(reply.end == .closed)
        }

        @Test func chunkedMustBeTheLastAndOnlyCodingWeKnow() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let body = "5\r\nhello\r\n0\r\n\r\n"
            let leading = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: , chunked\r\n\r\n\(body)")
            #expect(leading.statuses == [200] && leading.text.hasSuffix("hello"))
            let unknown = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: gzip, chunked\r\n\r\n\(body)")
            #expect(unknown.statuses == [501])
            let notLast = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked, gzip\r\n\r\n\(body)")
            #expect(notLast.statuses == [400])
            let twice = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked, chunked\r\n\r\n\(body)")
            #expect(twice.statuses == [400])
        }

        @Test func anEmptyListElementAfterChunkedIsSkipped() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let body = "5\r\nhello\r\n0\r\n\r\n"
            for value in ["chunked,", "chunked , ,", " ,chunked,"] {
                let reply = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: \(value)\r\n\r\n\(body)\(Self.next)")
                #expect(reply.statuses == [200, 200] && reply.text.contains("hello"), "Transfer-Encoding: '\(value)'")
            }
        }

        @Test func chunkExtensionsMayHaveWhitespaceAroundSemicolonAndEquals() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            for size in ["5 ; a=b", "5;a = b", "5\t;\ta", "5;a=\"b c\""] {
                let reply = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked\r\n\r\n\(size)\r\nhello\r\n0 ; end\r\n\r\n\(Self.next)")
                #expect(reply.statuses == [200, 200] && reply.text.contains("hello"), "\(size.debugDescription)")
            }
            for size in ["5;", "5 ;a=b c", "ffffffffffffffffff", "5\n"] {
                let reply = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked\r\n\r\n\(size)\r\nhello\r\n0\r\n\r\n")
                #expect(reply.statuses == [400] && reply.end == .closed, "\(size.debugDescription)")
            }
        }

        @Test func fieldsAndContentLengthsThatCouldBeReadTwoWaysAre400() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            for fields in ["Content-Length: 5\r\nContent-Length: 6\r\n", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                           "Content-Length : 5\r\n", "X: a\r\n folded\r\n", "X: a\u{0}b\r\n", "X: a\rb\r\n"] {
                let reply = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)\(fields)\r\nhello")
                #expect(reply.statuses == [400] && reply.end == .closed, "\(fields.debugDescription)")
            }
        }

        @Test func aContentLengthBeyond63BitsIsRefusedAtTheHead() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let reply = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)Content-Length: 99999999999999999999999\r\n\r\n")
            #expect(reply.statuses == [400])
            let spaced = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)Content-Length: \t5 \r\n\r\nhello")
            #expect(spaced.statuses == [200] && spaced.text.hasSuffix("hello"))
        }

        @Test func nothingIsReadOrAnsweredAfterAResponseThatCloses() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let closing = try await Self.exchange(server, "GET /hello HTTP/1.1\r\n\(Self.host)Connection: close\r\n\r\n\(Self.next)")
            #expect(closing.statuses == [200] && closing.end == .closed)
            let http10 = try await Self.exchange(server, "GET /hello HTTP/1.0\r\n\r\n\(Self.next)")
            #expect(http10.statuses == [200] && http10.end == .closed)
        }

        // MARK: - Host, targets, versions, methods

        @Test func anHTTP11RequestNeedsExactlyOneValidHost() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            for head in ["", "Host: a\r\nHost: b\r\n", "Host: a b\r\n", "Host: a/b\r\n", "Host: a@b\r\n", "Host: a:port\r\n"] {
                let reply = try await Self.exchange(server, "GET /hello HTTP/1.1\r\n\(head)\r\n")
                #expect(reply.statuses == [400], "\(head.debugDescription)")
            }
            for head in ["Host: example.com:8080\r\n", "Host: [::1]:80\r\n", "Host: 127.0.0.1\r\n"] {
                let reply = try await Self.exchange(server, "GET /hello HTTP/1.1\r\n\(head)Connection: close\r\n\r\n")
                #expect(reply.statuses == [200], "\(head.debugDescription)")
            }
        }

        @Test func absoluteFormIsServedAsItsPathAndFragmentsAreDropped() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let absolute = try await Self.exchange(server, "GET http://test/hello HTTP/1.1\r\n\(Self.host)Connection: close\r\n\r\n")
            #expect(absolute.statuses == [200] && absolute.text.hasSuffix("Hello World!\n"))
            let query = try await Self.exchange(server, "GET HTTP://test:80/api/items/7?x=1 HTTP/1.1\r\n\(Self.host)Authorization: Bearer test\r\nConnection: close\r\n\r\n")
            #expect(query.text.hasSuffix("item 7\n"))
            let fragment = try await Self.exchange(server, "GET /hello#top HTTP/1.1\r\n\(Self.host)Connection: close\r\n\r\n")
            #expect(fragment.statuses == [200])
        }

        @Test func aTargetOverTheLimitIs414() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let reply = try await Self.exchange(server, "GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(reply.statuses == [414])
        }

        @Test func http1xAbove1IsServedAsHTTP11() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            for version in ["HTTP/1.2", "HTTP/1.9"] {
                let reply = try await Self.exchange(server, "GET /hello \(version)\r\n\(Self.host)\r\n\(Self.next)")
                #expect(reply.statuses == [200, 200] && reply.text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(version)")
                #expect(reply.end == .open)
            }
        }

        @Test func otherMajorVersionsGet505() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            for version in ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9"] {
                let reply = try await Self.exchange(server, "GET /hello \(version)\r\n\(Self.host)\r\n")
                #expect(reply.statuses == [505], "\(version)")
            }
            let simple = try await Self.exchange(server, "GET /hello\r\n\r\n")
            #expect(simple.statuses == [505])
        }

        @Test func anUnknownMethodIs501AndAKnownOneNotRoutedIs405() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let unknown = try await Self.exchange(server, "FROB /hello HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(unknown.statuses == [501])
            let known = try await Self.exchange(server, "PURGE /hello HTTP/1.1\r\n\(Self.host)Connection: close\r\n\r\n")
            #expect(known.statuses == [405] && known.text.contains("Allow: GET"))
        }

        // MARK: - Responses

        @Test func noContinueForHTTP10() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let http10 = try await Self.exchange(server, "POST /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello")
            #expect(http10.statuses == [200])
            let http11 = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)Expect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
            #expect(http11.statuses == [100, 200])
        }

        @Test func anHTTP10KeepAliveResponseSaysSo() async throws {
            let server = try await Self.server()
            defer { server.shutdown() }
            let reply = try await Self.exchange(server, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(reply.statuses == [200, 200])
            #expect(reply.text.components(separatedBy: "Connection: keep-alive").count == 3)
            #expect(reply.end == .open)
        }

        @Test func anEarlyRefusalReachesAClientStillSending() async throws {
            var settings = ["-w", "1", "--data-store", "redis://127.0.0.1:9/0", "--max-body", "1K"]
            let server = try PulseServer(arguments: settings)
            settings.removeAll()
            defer { server.shutdown() }
            try await server.waitForReady(1)
            // A declared 8 MB body, half of it sent at once: the client must read 413, not a reset.
            let body = String(repeating: "x", count: 4 << 20)
            let reply = try await Self.exchange(server, "POST /echo HTTP/1.1\r\n\(Self.host)Content-Length: \(8 << 20)\r\n\r\n\(body)", quiet: 3)
            #expect(reply.statuses == [413])
            #expect(reply.end != .reset, "the client saw a reset instead of the status")
            // A refused head with no body, more bytes behind it: the status arrives, no reset.
            let fields = (1...120).map { "X-Field-\($0): v\r\n" }.joined()
            let head = try await Self.exchange(server, "GET /hello HTTP/1.1\r\n\(Self.host)\(fields)\r\n\(String(repeating: "y", count: 1 << 20))", quiet: 3)
            #expect(head.statuses == [431])
            #expect(head.end != .reset, "the client saw a reset instead of the status")
        }
    }
}
