import DataStore
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A connection on a plain blocking socket, for thread mode: the calling pool
/// thread waits in `recv`, as a blocking driver would.
// @unchecked: one pool thread at a time uses it (the pool hands it out whole).
final class BlockingRESPConnection: @unchecked Sendable {
    private let fd: Int32
    private var buffer = ByteBuffer()

    /// The reply timeout the connection was opened with.
    private let ownTimeout: Double

    private func setReceiveTimeout(_ seconds: Double) {
        let seconds = min(max(0, seconds), 1e6)   // 0: no limit
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    init(host: String, port: Int, timeout: Double = 10) throws(DataStoreClientError) {
        ownTimeout = timeout
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw DataStoreClientError("cannot resolve \(host)", kind: .unavailable)
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DataStoreClientError("socket: \(String(cString: strerror(errno)))", kind: .unavailable) }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw DataStoreClientError("cannot connect to the data store at \(host):\(port): \(reason)", kind: .unavailable)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// An idle connection is usable while the store has not closed it (nothing is
    /// pending on it either: an idle connection has no reply to read).
    var isUsable: Bool {
        let pollReadHangUp: Int16 = 0x2000   // POLLRDHUP, which Glibc's module does not export
        var polled = pollfd(fd: fd, events: Int16(POLLIN) | pollReadHangUp, revents: 0)
        return poll(&polled, 1, 0) == 0
    }

    /// `timeout`: how long this reply may take, when not the connection's own (a
    /// blocking pop's); nil waits as long as it takes.
    func send(_ request: RESPValue, timeout: Double?? = .none) throws(DataStoreClientError) -> RESPValue {
        if case .some(let wait) = timeout { setReceiveTimeout(wait ?? 0) }
        defer { if case .some = timeout { setReceiveTimeout(ownTimeout) } }
        var out = ByteBuffer()
        request.write(to: &out)
        let bytes = Array(out.readableBytesView)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw DataStoreClientError("the data store connection broke", kind: .unavailable) }
            offset += sent
        }
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            do {
                if let reply = try RESPValue.parse(&buffer) { return reply }
            } catch {
                throw DataStoreClientError("\(error.message)", kind: .unavailable)
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else {
                throw count == 0 ? DataStoreClientError("the data store closed the connection", kind: .unavailable)
                    : DataStoreClientError("no reply from the data store in time", kind: .timeout)
            }
            buffer.writeBytes(chunk[..<count])
        }
    }
}

/// A connection on NIO, for cooperative mode and code outside requests: the
/// caller suspends, the event loop goes on. A call with no reply within
/// `replyTimeout` closes the connection (its replies could no longer be matched)
/// and throws a `.timeout` error.
final class AsyncRESPConnection: Sendable {
    let channel: Channel
    private let handler: NIOLoopBound<RESPClientHandler>
    let replyTimeout: Double

    private init(channel: Channel, handler: NIOLoopBound<RESPClientHandler>, replyTimeout: Double) {
        self.channel = channel
        self.handler = handler
        self.replyTimeout = replyTimeout
    }

    static func connect(host: String, port: Int, group: EventLoopGroup, replyTimeout: Double) async throws -> AsyncRESPConnection {
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.fromSeconds(replyTimeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RESPClientHandler()) }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw DataStoreClientError("cannot connect to the data store at \(host):\(port): \(error)", kind: .unavailable)
        }
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: RESPClientHandler.self), eventLoop: channel.eventLoop)
        }.get()
        return AsyncRESPConnection(channel: channel, handler: handler, replyTimeout: replyTimeout)
    }

    /// An idle connection is usable while the store has not closed it.
    var isUsable: Bool { channel.isActive }

    /// `timeout`: how long this reply may take, when not `replyTimeout` (a blocking
    /// pop's); nil waits as long as it takes.
    func send(_ request: RESPValue, timeout: Double?? = .none) async throws -> RESPValue {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let handler = self.handler
        let timeout: Double? = if case .some(let wait) = timeout { wait } else { replyTimeout }
        channel.eventLoop.execute { handler.value.enqueue(request, promise: promise, timeout: timeout) }
        return try await promise.futureResult.get()
    }

    /// Subscribes to `channels` and `patterns`, returning once the store confirmed
    /// every one: a message published after that is delivered.
    func subscribe(channels: [String], patterns: [String]) async throws -> AsyncThrowingStream<DataStoreMessage, Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: DataStoreMessage.self)
        let confirmed = channel.eventLoop.makePromise(of: Void.self)
        let (handler, timeout) = (self.handler, replyTimeout)
        let commands: [RESPValue] = [("SUBSCRIBE", channels), ("PSUBSCRIBE", patterns)].compactMap { verb, names in
            names.isEmpty ? nil : .command([Array(verb.utf8)] + names.map { Array($0.utf8) })
        }
        channel.eventLoop.execute {
            handler.value.startPushes(continuation, confirmations: channels.count + patterns.count, confirmed: confirmed,
                                      commands: commands, timeout: timeout)
        }
        try await confirmed.futureResult.get()
        return stream
    }

    func close() { channel.close(promise: nil) }
}

/// Replies in order to the requests in flight; in subscribe mode, pushes to the
/// subscription. A reply late beyond its timeout closes the connection.
final class RESPClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var buffer = ByteBuffer()
    private var waiting = CircularBuffer<(promise: EventLoopPromise<RESPValue>, deadline: Scheduled<Void>?)>()
    private var pushes: AsyncThrowingStream<DataStoreMessage, Error>.Continuation?
    private var confirmationsLeft = 0
    private var confirmed: EventLoopPromise<Void>?
    private var confirmTimer: Scheduled<Void>?
    private var timedOut = false
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func enqueue(_ request: RESPValue, promise: EventLoopPromise<RESPValue>, timeout: Double?) {
        guard let context, context.channel.isActive else {
            promise.fail(DataStoreClientError("the data store connection is closed", kind: .unavailable))
            return
        }
        var out = context.channel.allocator.buffer(capacity: 64)
        request.write(to: &out)
        let deadline = timeout.map { timeout in
            context.eventLoop.assumeIsolated().scheduleTask(in: .fromSeconds(timeout)) { [self] in
                timedOut = true
                context.close(promise: nil)
            }
        }
        waiting.append((promise, deadline))
        context.writeAndFlush(Self.wrapOutboundOut(out), promise: nil)
    }

    func startPushes(_ continuation: AsyncThrowingStream<DataStoreMessage, Error>.Continuation, confirmations: Int,
                     confirmed: EventLoopPromise<Void>, commands: [RESPValue], timeout: Double) {
        guard let context, context.channel.isActive else {
            confirmed.fail(DataStoreClientError("the data store connection is closed", kind: .unavailable))
            continuation.finish(throwing: DataStoreClientError("the data store connection is closed", kind: .unavailable))
            return
        }
        pushes = continuation
        confirmationsLeft = confirmations
        self.confirmed = confirmed
        confirmTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .fromSeconds(timeout)) { [self] in
            timedOut = true
            context.close(promise: nil)
        }
        var out = context.channel.allocator.buffer(capacity: 64)
        for command in commands { command.write(to: &out) }
        context.writeAndFlush(Self.wrapOutboundOut(out), promise: nil)
        if confirmations == 0 { confirm() }
    }

    private func confirm() {
        confirmTimer?.cancel()
        confirmed?.succeed(())
        confirmed = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = Self.unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        do {
            while let reply = try RESPValue.parse(&buffer) {
                if pushes != nil {
                    push(reply)
                } else if let first = waiting.popFirst() {
                    first.deadline?.cancel()
                    first.promise.succeed(reply)
                }
            }
        } catch {
            context.fireErrorCaught(error)
        }
        buffer.discardReadBytes()
    }

    private func push(_ reply: RESPValue) {
        if case .error(let message) = reply, confirmed != nil {
            refused(message)
            return
        }
        guard case .array(let parts?) = reply, let kind = parts.first?.string else { return }
        switch kind {
        case "message" where parts.count == 3:
            if let channel = parts[1].string, let message = parts[2].string {
                pushes?.yield(DataStoreMessage(channel: channel, message: message))
            }
        case "pmessage" where parts.count == 4:
            if let pattern = parts[1].string, let channel = parts[2].string, let message = parts[3].string {
                pushes?.yield(DataStoreMessage(channel: channel, message: message, pattern: pattern))
            }
        case "subscribe", "psubscribe":
            confirmationsLeft -= 1
            if confirmationsLeft == 0 { confirm() }
        default:
            break
        }
    }

    /// An error reply where a confirmation was due (NOAUTH, say): the subscription failed.
    private func refused(_ message: String) {
        confirmTimer?.cancel()
        confirmed?.fail(DataStoreClientError(message, kind: .reply))
        confirmed = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = timedOut ? DataStoreClientError("no reply from the data store in time", kind: .timeout)
            : DataStoreClientError("the data store closed the connection", kind: .unavailable)
        while let first = waiting.popFirst() {
            first.deadline?.cancel()
            first.promise.fail(error)
        }
        confirmTimer?.cancel()
        confirmed?.fail(error)
        confirmed = nil
        pushes?.finish(throwing: error)
        pushes = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// A message published on a channel; `pattern` is the subscription's pattern when
/// it came through one.
public struct DataStoreMessage: Sendable, Equatable {
    public let channel: String
    public let message: String
    public let pattern: String?

    public init(channel: String, message: String, pattern: String? = nil) {
        self.channel = channel
        self.message = message
        self.pattern = pattern
    }
}

/// The messages of a subscription, as an async sequence. Its connection closes
/// when the subscription is cancelled.
public struct DataStoreSubscription: AsyncSequence, Sendable {
    public typealias Element = DataStoreMessage
    let stream: AsyncThrowingStream<DataStoreMessage, Error>
    let connection: AsyncRESPConnection

    public func makeAsyncIterator() -> AsyncThrowingStream<DataStoreMessage, Error>.AsyncIterator { stream.makeAsyncIterator() }

    public func cancel() { connection.close() }
}
