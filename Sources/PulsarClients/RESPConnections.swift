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

    init(host: String, port: Int, timeout: Double = 10) throws(DataStoreClientError) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw DataStoreClientError("cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DataStoreClientError("socket: \(String(cString: strerror(errno)))") }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw DataStoreClientError("cannot connect to the data store at \(host):\(port): \(reason)")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    func send(_ request: RESPValue) throws(DataStoreClientError) -> RESPValue {
        var out = ByteBuffer()
        request.write(to: &out)
        let bytes = Array(out.readableBytesView)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw DataStoreClientError("the data store connection broke") }
            offset += sent
        }
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            do {
                if let reply = try RESPValue.parse(&buffer) { return reply }
            } catch {
                throw DataStoreClientError("\(error.message)")
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw DataStoreClientError(count == 0 ? "the data store closed the connection" : "no reply in time") }
            buffer.writeBytes(chunk[..<count])
        }
    }
}

/// A connection on NIO, for cooperative mode and code outside requests: the
/// caller suspends, the event loop goes on.
final class AsyncRESPConnection: Sendable {
    let channel: Channel
    private let handler: NIOLoopBound<RESPClientHandler>

    private init(channel: Channel, handler: NIOLoopBound<RESPClientHandler>) {
        self.channel = channel
        self.handler = handler
    }

    static func connect(host: String, port: Int, group: EventLoopGroup) async throws -> AsyncRESPConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RESPClientHandler()) }
            }
            .connect(host: host, port: port).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: RESPClientHandler.self), eventLoop: channel.eventLoop)
        }.get()
        return AsyncRESPConnection(channel: channel, handler: handler)
    }

    func send(_ request: RESPValue) async throws -> RESPValue {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let handler = self.handler
        channel.eventLoop.execute { handler.value.enqueue(request, promise: promise) }
        return try await promise.futureResult.get()
    }

    func subscribe(_ channels: [String]) async throws -> DataStoreSubscription {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: DataStoreMessage.self)
        let handler = self.handler
        try await channel.eventLoop.submit { handler.value.pushes = continuation }.get()
        var out = ByteBuffer()
        RESPValue.command([Array("SUBSCRIBE".utf8)] + channels.map { Array($0.utf8) }).write(to: &out)
        try await channel.writeAndFlush(out).get()
        return DataStoreSubscription(stream: stream, connection: self)
    }

    func close() { channel.close(promise: nil) }
}

/// Replies in order to the requests in flight; pushes (pub/sub) to the subscription.
final class RESPClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var buffer = ByteBuffer()
    private var waiting = CircularBuffer<EventLoopPromise<RESPValue>>()
    var pushes: AsyncThrowingStream<DataStoreMessage, Error>.Continuation?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func enqueue(_ request: RESPValue, promise: EventLoopPromise<RESPValue>) {
        guard let context, context.channel.isActive else {
            promise.fail(DataStoreClientError("the data store connection is closed"))
            return
        }
        var out = context.channel.allocator.buffer(capacity: 64)
        request.write(to: &out)
        waiting.append(promise)
        context.writeAndFlush(Self.wrapOutboundOut(out), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = Self.unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        do {
            while let reply = try RESPValue.parse(&buffer) {
                if let pushes {
                    if case .array(let parts?) = reply, parts.count == 3, parts[0].string == "message",
                       let channel = parts[1].string, let message = parts[2].string {
                        pushes.yield(DataStoreMessage(channel: channel, message: message))
                    }
                } else if !waiting.isEmpty {
                    waiting.removeFirst().succeed(reply)
                }
            }
        } catch {
            context.fireErrorCaught(error)
        }
        buffer.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = DataStoreClientError("the data store closed the connection")
        while let promise = waiting.popFirst() { promise.fail(error) }
        pushes?.finish(throwing: error)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// A message published on a channel.
public struct DataStoreMessage: Sendable, Equatable {
    public let channel: String
    public let message: String

    public init(channel: String, message: String) {
        self.channel = channel
        self.message = message
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
