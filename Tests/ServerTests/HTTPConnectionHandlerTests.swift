import Mailbox
import NIOConcurrencyHelpers
import NIOCore
@testable import Server
import Testing

/// The HTTP connection handler alone, on NIO's embedded channel with the pipeline a
/// worker builds; no sockets, no worker.
@Suite struct HTTPConnectionHandlerTests {
    /// Opens once, for a handler that must wait for the test.
    final class Gate: Sendable {
        private let stream: AsyncStream<Void>
        private let continuation: AsyncStream<Void>.Continuation
        init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }
        func open() { continuation.yield() }
        func wait() async { for await _ in stream { return } }
    }

    let gate = Gate()
    let cancelled = NIOLockedValueBox(false)

    var router: Router {
        var router = Router()
        let (gate, cancelled) = (self.gate, self.cancelled)
        router.get("/a") { _ in .text("a") }
        router.get("/b") { _ in .text("b") }
        router.get("/nothing") { _ in Response(status: .noContent, body: ByteBuffer(string: "ignored")) }
        router.get("/pieces") { _ in Response { writer in try await writer.write("one") } }
        router.post("/echo") { request in Response(body: request.body) }
        router.post("/upload", body: .stream) { request in
            await gate.wait()
            var bytes = 0
            for try await piece in request.bodyStream! { bytes += piece.readableBytes }
            return .text("\(bytes)")
        }
        router.get("/wait") { _ in
            await gate.wait()
            return .text("waited")
        }
        router.get("/slow") { _ in
            do {
                try await Task.sleep(for: .seconds(60))
            } catch {
                cancelled.withLockedValue { $0 = true }
                throw error
            }
            return .text("late")
        }
        return router
    }

    static let host = "Host: test\r\n"

    @Test func pipelinedRequestsAreAnsweredInOrderOnAKeptConnection() async throws {
        let connection = try await HTTPTestConnection(router: router)
        try await connection.send("GET /b HTTP/1.1\r\n\(Self.host)\r\nGET /a HTTP/1.1\r\n\(Self.host)\r\n")
        let text = try await connection.output { $0.occurrences(of: "HTTP/1.1 200 OK") == 2 && $0.hasSuffix("a") }
        let b = try #require(text.range(of: "\r\n\r\nb"))
        let a = try #require(text.range(of: "\r\n\r\na"))
        #expect(b.lowerBound < a.lowerBound)
        #expect(!text.contains("Connection: close"))
        #expect(connection.isActive)
        #expect(connection.observer.books.withLockedValue { $0.statuses } == [200, 200])
        #expect(connection.observer.books.withLockedValue { $0.busy } == [true, false, true, false])
    }

    /// What arrives behind a pending response waits, in order, with reads held: a
    /// request sent while `/wait` runs is answered after it, and a malformed one
    /// behind it gets its 400 only then (not a reset of the pending response).
    @Test func whatArrivesWhileAResponseIsPendingWaitsItsTurnWithReadsHeld() async throws {
        let connection = try await HTTPTestConnection(router: router)
        try await connection.send("GET /wait HTTP/1.1\r\n\(Self.host)\r\n")
        #expect(try await connection.eventually { connection.runner.submitted.withLockedValue { $0 } == 1 })
        try await connection.send("GET /a HTTP/1.1\r\n\(Self.host)\r\nGET / HTTP/1.1\r\nHost no colon\r\n\r\n")
        let channel = connection.channel
        let before = connection.reads.reads.withLockedValue { $0 }
        try await channel.testingEventLoop.executeInContext { channel.read() }
        #expect(connection.reads.reads.withLockedValue { $0 } == before)      // held while requests wait
        #expect(connection.runner.submitted.withLockedValue { $0 } == 1)
        gate.open()
        let text = try await connection.output { $0.contains("400 Bad Request") }
        let waited = try #require(text.range(of: "\r\n\r\nwaited"))
        let a = try #require(text.range(of: "\r\n\r\na"))
        let refused = try #require(text.range(of: "HTTP/1.1 400"))
        #expect(waited.lowerBound < a.lowerBound && a.lowerBound < refused.lowerBound, "\(text)")
        #expect(connection.observer.books.withLockedValue { $0.statuses } == [200, 200, 400])
        #expect(try await connection.eventually { !connection.isActive })
    }

    /// A 204 ends with its head even when the app gave it a body (RFC 9110 15.3.5):
    /// the next response on the connection is read where it starts.
    @Test func aNoContentResponseHasNoBodyWhateverTheAppGaveIt() async throws {
        let connection = try await HTTPTestConnection(router: router)
        try await connection.send("GET /nothing HTTP/1.1\r\n\(Self.host)\r\nGET /a HTTP/1.1\r\n\(Self.host)\r\n")
        let text = try await connection.output { $0.hasSuffix("\r\n\r\na") }
        #expect(text.hasPrefix("HTTP/1.1 204 No Content\r\n"), "\(text)")
        #expect(!text.contains("ignored") && !text.lowercased().contains("content-length: 7"), "\(text)")
        #expect(text.contains("\r\n\r\nHTTP/1.1 200 OK\r\n"), "\(text)")
    }

    @Test func aDeclaredBodyOverTheLimitIsRefusedBeforeItIsRead() async throws {
        var settings = WorkerSettings()
        settings.maxBody = 10
        let connection = try await HTTPTestConnection(router: router, settings: settings)
        try await connection.send("POST /echo HTTP/1.1\r\n\(Self.host)Content-Length: 100\r\n\r\n")
        let text = try await connection.output { $0.contains("413") }
        #expect(text.hasPrefix("HTTP/1.1 413 Payload Too Large") && text.contains("Connection: close"))
        #expect(try await connection.eventually { !connection.isActive })
        #expect(connection.runner.submitted.withLockedValue { $0 } == 0)
        #expect(connection.observer.books.withLockedValue { $0.statuses } == [413])
    }

    @Test func aChunkedBodyGrowingPastTheLimitIsRefused() async throws {
        var settings = WorkerSettings()
        settings.maxBody = 10
        let connection = try await HTTPTestConnection(router: router, settings: settings)
        try await connection.send("POST /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n")
        try await connection.send("8\r\n12345678\r\n0\r\n\r\n")
        let text = try await connection.output { $0.contains("413") }
        #expect(text.hasPrefix("HTTP/1.1 413"))
        #expect(try await connection.eventually { !connection.isActive })
        #expect(connection.runner.submitted.withLockedValue { $0 } == 0)
    }

    @Test func tooManyHeaderFieldsGet431() async throws {
        var settings = WorkerSettings()
        settings.maxHeaderCount = 3
        let connection = try await HTTPTestConnection(router: router, settings: settings)
        let fields = (1...5).map { "X-Field-\($0): v\r\n" }.joined()
        try await connection.send("GET /a HTTP/1.1\r\n\(Self.host)\(fields)\r\n")
        let text = try await connection.output { $0.contains("431") }
        #expect(text.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large"))
        #expect(try await connection.eventually { !connection.isActive })
    }

    @Test func aMalformedRequestGets400AndTheConnectionCloses() async throws {
        let connection = try await HTTPTestConnection(router: router)
        try await connection.send("GET / HTTP/1.1\r\nHost test no colon\r\n\r\n")
        let text = try await connection.output { $0.contains("400") }
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request"))
        #expect(try await connection.eventually { !connection.isActive })
        #expect(connection.observer.books.withLockedValue { $0.statuses } == [400])
    }

    @Test func aStreamedBodyHoldsReadsWhileItsReaderLags() async throws {
        let connection = try await HTTPTestConnection(router: router)
        let total = 3 << 20
        try await connection.send("POST /upload HTTP/1.1\r\n\(Self.host)Content-Length: \(total)\r\n\r\n")
        let piece = String(repeating: "x", count: 64 << 10)
        for _ in 0..<32 { try await connection.send(piece) }                   // 2 MiB, nobody reading
        let channel = connection.channel
        let before = connection.reads.reads.withLockedValue { $0 }
        try await channel.testingEventLoop.executeInContext { channel.read() }
        #expect(connection.reads.reads.withLockedValue { $0 } == before)      // held back
        gate.open()
        #expect(try await connection.eventually { connection.reads.reads.withLockedValue { $0 } == before + 1 })
        for _ in 0..<16 { try await connection.send(piece) }                   // the last MiB
        let text = try await connection.output { $0.hasSuffix("\(total)") }
        #expect(text.hasPrefix("HTTP/1.1 200 OK") && text.hasSuffix("\r\n\r\n\(total)"))
    }

    @Test func aClientThatLeavesCancelsItsRequest() async throws {
        let connection = try await HTTPTestConnection(router: router)
        try await connection.send("GET /slow HTTP/1.1\r\n\(Self.host)\r\n")
        #expect(try await connection.eventually { connection.runner.submitted.withLockedValue { $0 } == 1 })
        try await connection.channel.close()
        #expect(try await connection.eventually { cancelled.withLockedValue { $0 } })
        #expect(try await connection.eventually { connection.observer.books.withLockedValue { $0.statuses } == [500] })
        #expect(connection.observer.books.withLockedValue { $0.closed } == 1)
    }

    @Test func anIdleKeepAliveConnectionClosesAfterItsTimeout() async throws {
        var settings = WorkerSettings()
        settings.keepAlive = 5
        let connection = try await HTTPTestConnection(router: router, settings: settings)
        try await connection.send("GET /a HTTP/1.1\r\n\(Self.host)\r\n")
        _ = try await connection.output { $0.hasSuffix("a") }
        await connection.channel.testingEventLoop.advanceTime(by: .seconds(4))
        #expect(connection.isActive)
        await connection.channel.testingEventLoop.advanceTime(by: .seconds(2))
        #expect(!connection.isActive)
    }

    /// Reading goes on while a request runs, so part of the next head can come in
    /// before the response ends; the 408 deadline for it runs from that end.
    @Test func aHeadBegunWhileAResponseWasPendingGets408AfterTheHeaderTimeout() async throws {
        var settings = WorkerSettings()
        settings.keepAlive = 60
        settings.headerTimeout = 10
        let connection = try await HTTPTestConnection(router: router, settings: settings)
        try await connection.send("GET /wait HTTP/1.1\r\n\(Self.host)\r\n")
        #expect(try await connection.eventually { connection.runner.submitted.withLockedValue { $0 } == 1 })
        try await connection.send("GET /a HT")
        gate.open()
        _ = try await connection.output { $0.hasSuffix("waited") }
        await connection.channel.testingEventLoop.advanceTime(by: .seconds(6))
        #expect(connection.isActive)
        await connection.channel.testingEventLoop.advanceTime(by: .seconds(5))
        let text = try await connection.output { $0.contains("408") }
        #expect(text == KeepAliveTimer.timeoutResponse)
        #expect(connection.observer.books.withLockedValue { $0.statuses } == [200, 408])
    }

    @Test func aHalfSentHeadGets408AfterTheHeaderTimeout() async throws {
        var settings = WorkerSettings()
        settings.keepAlive = 5
        settings.headerTimeout = 10
        let connection = try await HTTPTestConnection(router: router, settings: settings)
        try await connection.send("GET /a HT")
        await connection.channel.testingEventLoop.advanceTime(by: .seconds(6))
        #expect(connection.isActive)                                          // not idle: it sent something
        await connection.channel.testingEventLoop.advanceTime(by: .seconds(5))
        let text = try await connection.output { $0.contains("408") }
        #expect(text == KeepAliveTimer.timeoutResponse)
        #expect(!connection.isActive)
        #expect(connection.observer.books.withLockedValue { $0.statuses } == [408])
    }

    @Test func aDrainingWorkerAnswersThenCloses() async throws {
        let connection = try await HTTPTestConnection(router: router)
        connection.observer.draining.withLockedValue { $0 = true }
        try await connection.send("GET /a HTTP/1.1\r\n\(Self.host)\r\n")
        let text = try await connection.output { $0.hasSuffix("a") }
        #expect(text.contains("Connection: close"))
        #expect(try await connection.eventually { !connection.isActive })
    }

    @Test func aFullQueueGets503WithRetryAfter() async throws {
        let connection = try await HTTPTestConnection(router: router)
        connection.runner.queueFull.withLockedValue { $0 = true }
        try await connection.send("GET /a HTTP/1.1\r\n\(Self.host)\r\n")
        let text = try await connection.output { $0.contains("queue is full\n") }
        #expect(text.hasPrefix("HTTP/1.1 503 Service Unavailable") && text.contains("Retry-After: 1"))
        #expect(connection.isActive)                                          // the client may try again
    }

    @Test func aLongPipelinedRequestIsNotCutByTheKeepAliveTimeout() async throws {
        var settings = WorkerSettings()
        settings.keepAlive = 5
        let connection = try await HTTPTestConnection(router: router, settings: settings)
        try await connection.send("GET /a HTTP/1.1\r\n\(Self.host)\r\nGET /wait HTTP/1.1\r\n\(Self.host)\r\n")
        _ = try await connection.output { $0.hasSuffix("a") }
        #expect(try await connection.eventually { connection.runner.submitted.withLockedValue { $0 } == 2 })
        await connection.channel.testingEventLoop.advanceTime(by: .seconds(8))   // past --keep-alive, mid-request
        #expect(connection.isActive)
        gate.open()
        let text = try await connection.output { $0.hasSuffix("waited") }
        #expect(text.hasSuffix("\r\n\r\nwaited"))
        #expect(connection.observer.books.withLockedValue { $0.statuses } == [200, 200])
    }

    @Test func aMalformedChunkInAStreamedBodyEndsItsRequest() async throws {
        let connection = try await HTTPTestConnection(router: router)
        try await connection.send("POST /upload HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n")
        #expect(try await connection.eventually { connection.runner.submitted.withLockedValue { $0 } == 1 })
        try await connection.send("zz\r\nnot a chunk\r\n")
        #expect(try await connection.eventually { !connection.isActive })
        #expect(try await connection.eventually { connection.observer.books.withLockedValue { $0.statuses } == [500] })
    }

    /// The server frames responses itself: NIO's encoder is not told which requests were HEAD.
    @Test func aStreamIsChunkedAndItsHeadHasNoFramingAndNoTerminator() async throws {
        let connection = try await HTTPTestConnection(router: router)
        try await connection.send("GET /pieces HTTP/1.1\r\n\(Self.host)\r\n")
        let get = try await connection.output { $0.hasSuffix("0\r\n\r\n") }
        #expect(get.lowercased().contains("transfer-encoding: chunked\r\n") && get.hasSuffix("\r\n\r\n3\r\none\r\n0\r\n\r\n"), "\(get)")
        try await connection.send("HEAD /pieces HTTP/1.1\r\n\(Self.host)\r\nGET /a HTTP/1.1\r\n\(Self.host)\r\n")
        let text = try await connection.output { $0.hasSuffix("\r\n\r\na") }
        let head = String(text[..<(text.range(of: "\r\n\r\n")?.upperBound ?? text.endIndex)])
        #expect(head.hasPrefix("HTTP/1.1 200 OK") && !head.lowercased().contains("transfer-encoding"), "\(text)")
        #expect(!text.contains("0\r\n\r\n") && text.hasSuffix("\r\n\r\na"), "\(text)")
    }
}
