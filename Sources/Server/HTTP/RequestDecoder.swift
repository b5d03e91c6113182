import NIOCore
import NIOHTTP1

/// Turns a connection's bytes into NIO's `HTTPServerRequestPart`s (head, body pieces,
/// end), in place of NIO's llhttp-based `HTTPRequestDecoder`, which decides some of
/// RFC 9112 before the server sees the request and has no switch to decide otherwise:
/// it refuses `HTTP/1.2`, `Transfer-Encoding: chunked,` and chunk extensions with
/// whitespace around `;` and `=`, all of which a server should accept.
///
/// Guarantees: a body is passed on in the pieces it arrives in, never gathered;
/// pipelined requests are decoded one after the other from one read; the head, the
/// request line and every chunk-size line have a size limit, so what is buffered is
/// bounded; every number from the wire is read with checked arithmetic. An error is
/// thrown as the `HTTPParserError` of its `RequestDecodingError`, and
/// `ByteToMessageHandler` then refuses everything after it. After a request that
/// asks to switch protocols nothing more is decoded: the bytes behind it wait for
/// the decoder's removal, which forwards or drops them (`leftOverBytesStrategy`).
///
///     head --no body--> (end) --> head ...           (keep-alive)
///       |--length--> body --> (end)                   or closed (bytes after: error)
///       `--chunked--> size line --> data --> CRLF --> size line ... --> 0 --> trailers --> (end)
///                                                                        or upgraded (stops)
final class RequestDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPServerRequestPart

    enum State {
        case head(SectionScan)
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The CRLF that ends a chunk's data.
        case chunkEnd
        case trailers(SectionScan)
        /// The last request asked to switch protocols: what follows is not HTTP.
        case upgraded
        /// The last request closes the connection: anything but CRLF after it is an error.
        case closed
    }

    private(set) var state = State.head(SectionScan())
    private let leftOverBytesStrategy: RemoveAfterUpgradeStrategy
    let limits: Limits
    /// What the current request's head said of the connection.
    private var keepAlive = true
    private var upgrade = false

    struct Limits {
        /// Longest request line; past it, 414. RequestHeadRules refuses a target over
        /// 8 KiB, so this leaves room for the method and the version.
        var requestLine = 8 * 1024 + 64
        /// Largest head (or trailer section); past it, 431. NIO's decoder allowed 80 KiB.
        var head = 80 * 1024
        /// Longest chunk-size line, extensions included; past it, 400.
        var chunkLine = 4 * 1024
    }

    init(leftOverBytesStrategy: RemoveAfterUpgradeStrategy = .dropBytes, limits: Limits = Limits()) {
        self.leftOverBytesStrategy = leftOverBytesStrategy
        self.limits = limits
    }

    /// The HTTP handler right behind this decoder, when it asked for the parts
    /// directly (`HTTPConnectionHandler.received`): the same order and timing as
    /// `fireChannelRead`, without a box and a cast per part.
    weak var sink: HTTPConnectionHandler?

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        do {
            if let sink, let sinkContext = sink.ownContext {
                return try step(buffer: &buffer) { part in sink.received(part, context: sinkContext) }
            }
            return try step(buffer: &buffer) { part in context.fireChannelRead(Self.wrapInboundOut(part)) }
        } catch {
            throw error.parserError
        }
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while case .continue = try decode(context: context, buffer: &buffer) {}
        if seenEOF {
            if isMidRequest(buffered: buffer.readableBytes) { throw RequestDecodingError.endedMidRequest.parserError }
        } else if buffer.readableBytes > 0 {
            // Removed (a protocol switch): the bytes behind the request belong to the next protocol.
            switch leftOverBytesStrategy {
            case .dropBytes: buffer.moveReaderIndex(to: buffer.writerIndex)
            case .fireError: context.fireErrorCaught(ByteToMessageDecoderError.leftoverDataWhenDone(buffer))
            case .forwardBytes: context.fireChannelRead(NIOAny(buffer.readSlice(length: buffer.readableBytes)!))
            }
        }
        return .needMoreData
    }

    /// Part of a request head has been read: bytes that arrived while a response was
    /// pending, whose 408 deadline starts when that response ends.
    var holdsPartialHead: Bool {
        if case .head(let scan) = state { return scan.scanned > 0 }
        return false
    }

    private func isMidRequest(buffered: Int) -> Bool {
        switch state {
        case .head(let scan): scan.scanned > 0 || buffered > 0
        case .body, .chunkSize, .chunkData, .chunkEnd, .trailers: true
        case .upgraded, .closed: false
        }
    }

    /// One step: a head, a body piece, a chunk line... `emit` gets each part. The
    /// state moves before a part is emitted, since handling it may re-enter.
    func step(buffer: inout ByteBuffer, emit: (HTTPServerRequestPart) -> Void) throws(RequestDecodingError) -> DecodingState {
        switch state {
        case .head(var scan):
            return try readHead(&buffer, scan: &scan, emit: emit)
        case .body(let remaining):
            guard let piece = buffer.readSlice(length: min(remaining, buffer.readableBytes)), piece.readableBytes > 0 else {
                return .needMoreData
            }
            let left = remaining - piece.readableBytes
            state = left == 0 ? afterMessage() : .body(remaining: left)
            emit(.body(piece))
            if left == 0 { emit(.end(nil)) }
            return .continue
        case .chunkSize:
            guard let size = try readChunkSize(&buffer) else { return .needMoreData }
            state = size == 0 ? .trailers(SectionScan()) : .chunkData(remaining: size)
            return .continue
        case .chunkData(let remaining):
            guard let piece = buffer.readSlice(length: min(remaining, buffer.readableBytes)), piece.readableBytes > 0 else {
                return .needMoreData
            }
            let left = remaining - piece.readableBytes
            state = left == 0 ? .chunkEnd : .chunkData(remaining: left)
            emit(.body(piece))
            return .continue
        case .chunkEnd:
            guard buffer.readableBytes >= 2 else { return .needMoreData }
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw .badChunk }
            state = .chunkSize
            return .continue
        case .trailers(var scan):
            return try readTrailers(&buffer, scan: &scan, emit: emit)
        case .upgraded:
            return .needMoreData
        case .closed:
            // llhttp's rule, kept: stray line breaks are skipped, anything else is an error.
            while let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) {
                guard byte == .cr || byte == .lf else { throw .dataAfterClose }
                buffer.moveReaderIndex(forwardBy: 1)
            }
            return .needMoreData
        }
    }

    private func readHead(_ buffer: inout ByteBuffer, scan: inout SectionScan,
                          emit: (HTTPServerRequestPart) -> Void) throws(RequestDecodingError) -> DecodingState {
        guard let length = try scanHead(&buffer, scan: &scan) else {
            state = .head(scan)
            return .needMoreData
        }
        let parsed = try buffer.withUnsafeReadableBytes { bytes throws(RequestDecodingError) in
            try RequestHeadParser.parse(UnsafeRawBufferPointer(rebasing: bytes[..<length]), fieldLines: scan.fieldLines)
        }
        buffer.moveReaderIndex(forwardBy: length)
        (keepAlive, upgrade) = (parsed.keepAlive, parsed.upgrade)
        switch parsed.framing {
        case .none:
            state = afterMessage()
            emit(.head(parsed.head))
            emit(.end(nil))
        case .length(let length):
            state = .body(remaining: length)
            emit(.head(parsed.head))
        case .chunked:
            state = .chunkSize
            emit(.head(parsed.head))
        }
        return .continue
    }

    private func afterMessage() -> State {
        if upgrade { return .upgraded }
        return keepAlive ? .head(SectionScan()) : .closed
    }

    /// Finds the end of the head, skipping the empty lines a client may send before
    /// it (RFC 9112 2.2); nil while it is incomplete.
    private func scanHead(_ buffer: inout ByteBuffer, scan: inout SectionScan) throws(RequestDecodingError) -> Int? {
        if scan.scanned == 0 {
            while let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), byte == .cr || byte == .lf {
                buffer.moveReaderIndex(forwardBy: 1)
            }
        }
        return try buffer.withUnsafeReadableBytes { bytes throws(RequestDecodingError) in
            try scan.advance(bytes, requestLine: limits.requestLine, limit: limits.head)
        }
    }

    /// The size line of a chunk, extensions skipped; nil while it is incomplete.
    private func readChunkSize(_ buffer: inout ByteBuffer) throws(RequestDecodingError) -> Int? {
        let maximum = limits.chunkLine
        let found = buffer.withUnsafeReadableBytes { bytes -> (line: Int?, size: Result<Int, RequestDecodingError>?) in
            let window = UnsafeRawBufferPointer(rebasing: bytes[..<min(bytes.count, maximum + 1)])
            guard let lf = window.firstIndex(of: .lf) else { return (nil, nil) }
            return (lf, Result { () throws(RequestDecodingError) in try ChunkLine.size(UnsafeRawBufferPointer(rebasing: bytes[..<lf])) })
        }
        guard let line = found.line, let size = found.size else {
            if buffer.readableBytes > maximum { throw .badChunk }
            return nil
        }
        let value = try size.get()
        buffer.moveReaderIndex(forwardBy: line + 1)
        return value
    }

    /// The trailer section after the last chunk: its fields are parsed and passed on
    /// with the end, as NIO's decoder does; the usual empty one costs two bytes.
    private func readTrailers(_ buffer: inout ByteBuffer, scan: inout SectionScan,
                              emit: (HTTPServerRequestPart) -> Void) throws(RequestDecodingError) -> DecodingState {
        let found = try buffer.withUnsafeReadableBytes { bytes throws(RequestDecodingError) in
            try scan.advance(bytes, requestLine: nil, limit: limits.head)
        }
        guard let length = found else {
            state = .trailers(scan)
            return .needMoreData
        }
        var trailers: HTTPHeaders?
        if scan.lines > 0 {
            trailers = try buffer.withUnsafeReadableBytes { bytes throws(RequestDecodingError) in
                try ChunkLine.trailers(UnsafeRawBufferPointer(rebasing: bytes[..<length]), count: scan.lines)
            }
        } else if length != 2 || buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) != 0x0D0A {
            throw .badField   // the empty line was a bare LF
        }
        buffer.moveReaderIndex(forwardBy: length)
        state = afterMessage()
        emit(.end(trailers))
        return .continue
    }
}

@available(*, unavailable)
extension RequestDecoder: Sendable {}
