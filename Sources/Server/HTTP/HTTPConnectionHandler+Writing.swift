import HTTPTypes
import NIOCore
import NIOHTTP1

/// Writing responses: one buffer for the head and a whole body, pieces of a stream
/// framed as they pass, and the connection readied for the next request.
extension HTTPConnectionHandler {
    func writeComplete(_ response: Response, for head: HTTPRequestHead, started: NIODeadline, context: ChannelHandlerContext) {
        if let makeUpgrader = response.switchProtocols, response.status.code == 101 {
            guard head.method == .GET, Self.asksToUpgrade(head) else {
                var refusal = Response.text("Upgrade Required: connect with Upgrade: websocket\n", status: .upgradeRequired)
                refusal.headers[.upgrade] = "websocket"
                writeComplete(refusal, for: head, started: started, context: context)
                return
            }
            switchProtocols(makeUpgrader(), for: head, started: started, context: context)
            return
        }
        var bytes = 0
        var body: ByteBuffer?
        // No body for HEAD, nor for a status that has none (RFC 9110 6.4.1): written, it
        // would be read as the start of the next response.
        if case .buffer(let buffer) = response.body, head.method != .HEAD, Self.mayHaveBody(response.status.code),
           buffer.readableBytes > 0 {
            bytes = buffer.readableBytes
            body = buffer
        }
        // A small body goes in the head's buffer (one write); a large one is not copied.
        let inline = bytes <= Self.inlineBody
        var out = encodeHead(response, for: head, capacity: inline ? bytes : 0, context: context)
        if let body {
            if inline {
                out.writeImmutableBuffer(body)
            } else {
                context.write(Self.wrapOutboundOut(out), promise: nil)
                out = body
            }
        }
        finish(status: response.status.code, started: started, bytes: bytes, abort: false, context: context, last: out)
    }

    /// Bodies up to this size are copied behind the head rather than written apart.
    static var inlineBody: Int { 16 * 1024 }

    /// A streamed response's head, written at once: its pieces follow through `write`.
    func writeHead(_ response: Response, for head: HTTPRequestHead, context: ChannelHandlerContext) {
        let out = encodeHead(response, for: head, capacity: 0, context: context)
        context.writeAndFlush(Self.wrapOutboundOut(out), promise: nil)
    }

    /// The response head as bytes, with room for `capacity` more; decides whether
    /// the connection stays open and how the body is framed.
    private func encodeHead(_ response: Response, for head: HTTPRequestHead, capacity: Int,
                            context: ChannelHandlerContext) -> ByteBuffer {
        let keepAlive = machine.responseHeadWritten(draining: observer.isDraining, knownLength: response.knownLength != nil)
        let code = response.status.code
        // The body's framing: no field for a status that has no body (1xx, 204, 304);
        // a HEAD response states the length a GET would have, or nothing.
        var framing = ResponseHead.Framing.none
        if Self.mayHaveBody(code) {
            if let length = response.knownLength {
                framing = .length(length)
            } else if head.method != .HEAD, head.version.major == 1, head.version.minor >= 1 {
                framing = .chunked
            }
        }
        chunked = framing == .chunked
        let connection: ResponseHead.Connection
        if !keepAlive {
            connection = .close
        } else if head.version.major == 1, head.version.minor == 0 {
            connection = .keepAlive   // HTTP/1.0 closes unless told
        } else {
            connection = .asTheAppSaid
        }
        let responseHead = ResponseHead(version: head.version, code: code, fields: response.headers, framing: framing,
                                        connection: connection, date: HTTPDate.now())
        var out = context.channel.allocator.buffer(capacity: responseHead.size + capacity)
        responseHead.write(to: &out)
        return out
    }

    /// 1xx, 204 and 304 responses end with their head.
    static func mayHaveBody(_ code: Int) -> Bool { code >= 200 && code != 204 && code != 304 }

    /// A streamed body's pieces, from `BodyWriter` (through the channel, so they pass
    /// here): framed as chunks when the head said so. Heads and ends are this
    /// handler's own to write; one sent this way is not written twice.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if switching {
            // The new protocol's handlers, behind this one until it leaves, answer the
            // bytes handed over to them: their writes are theirs.
            context.write(data, promise: promise)
            return
        }
        guard case .body(let piece) = Self.unwrapOutboundIn(data) else {
            promise?.succeed(())
            return
        }
        guard chunked else {
            context.write(NIOAny(piece), promise: promise)
            return
        }
        guard piece.readableBytes > 0 else {
            promise?.succeed(())   // an empty chunk would end the body
            return
        }
        switch piece {
        case .byteBuffer(let buffer):
            var out = context.channel.allocator.buffer(capacity: buffer.readableBytes + 12)
            ResponseBytes.writeChunk(buffer, to: &out)
            context.write(Self.wrapOutboundOut(out), promise: promise)
        case .fileRegion:
            var size = context.channel.allocator.buffer(capacity: 12)
            ResponseBytes.writeChunkSize(piece.readableBytes, to: &size)
            context.write(Self.wrapOutboundOut(size), promise: nil)
            context.write(NIOAny(piece), promise: nil)
            context.write(Self.wrapOutboundOut(context.channel.allocator.buffer(staticString: "\r\n")), promise: promise)
        }
    }

    /// Ends the response (`last`: what is left to write of it), closes the books, and
    /// readies the connection for the next request, serving one that waits.
    func finish(status: Int, started: NIODeadline, bytes: Int, abort: Bool, context: ChannelHandlerContext,
                last: ByteBuffer? = nil) {
        // The books close before the last write: its completion may close the
        // connection, and a draining worker exits when the last one closes.
        let channel = context.channel
        running = nil
        let action = machine.responseFinished(aborted: abort)
        observer.connection(channel, busy: false)
        releaseScoreboardSlot()
        let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
        if var record = pendingAccess {
            pendingAccess = nil
            (record.status, record.bytes, record.seconds) = (status, bytes, seconds)
            observer.logAccess(record)
        }
        observer.requestFinished(status: status, seconds: seconds, bytesOut: bytes)
        if action == .none || action == .abort {
            chunked = false
            if action == .abort { context.close(promise: nil) }   // a half-sent stream cannot end well
            return
        }
        var out = last ?? context.channel.allocator.buffer(capacity: chunked ? 5 : 0)
        if chunked { out.writeStaticString(ResponseBytes.lastChunk) }
        chunked = false
        if action == .close {
            readsPaused = true   // nothing more is read (or answered) on this connection
            queued.removeAll()
            cycle?.closing()
            context.writeAndFlush(Self.wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        // Reading goes on while a request runs: part of the next head may be in already.
        cycle?.responseEnded(headBegun: decoder?.holdsPartialHead ?? false)
        context.writeAndFlush(Self.wrapOutboundOut(out), promise: nil)
        deliverQueued(context: context)
    }

    /// Serves what waited behind the response that just ended, until a request is
    /// pending again; then reading resumes if nothing is left waiting. A request that
    /// ends at once (a cooperative handler) re-enters through `finish`: the loop here goes on.
    func deliverQueued(context: ChannelHandlerContext) {
        guard !deliveringQueued else { return }
        deliveringQueued = true
        defer { deliveringQueued = false }
        while !machine.awaitsResponse, let next = queued.popFirst() {
            switch next {
            case .part(let part): handle(part, context: context)
            case .error(let error): handleError(error, context: context)
            case .inputClosed: context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            }
        }
        readIfHeld(context: context)
    }

    /// The client's half-close, after the requests before it.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent, !queued.isEmpty {
            queued.append(.inputClosed)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// What arrived while a response was pending.
enum QueuedInbound {
    case part(HTTPServerRequestPart)
    case error(Error)
    case inputClosed
}

extension HTTPConnectionStateMachine {
    /// A whole request was read and its response is not finished: what arrives now waits.
    var awaitsResponse: Bool {
        if case .running(_, bodyOpen: false, _) = state { return true }
        return false
    }
}
