import Foundation
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Where a request's response goes: its connection's handler and context, reached
/// from the request's task through a `NIOLoopBound`.
struct ResponseTarget {
    let handler: HTTPConnectionHandler
    let context: ChannelHandlerContext

    /// Writes a response from the request's execution context: a whole body at once
    /// when the request ends on the loop (cooperative); from a pool thread, returned
    /// as the job's follow-up, written in the hop that frees the thread; a stream as
    /// head, pieces written by the producer, then end.
    static func deliver(_ response: Response, for head: HTTPRequestHead, started: NIODeadline,
                        to bound: NIOLoopBound<ResponseTarget>, channel: Channel, logger: Logger,
                        what: (method: HTTPRequest.Method, path: String)) async -> LoopFollowUp? {
        guard case .stream(let produce) = response.body, head.method != .HEAD else {
            // A cooperative request ends on the loop: written at once, with no hop.
            guard channel.eventLoop.inEventLoop else {
                return { bound.value.handler.writeComplete(response, for: head, started: started, context: bound.value.context) }
            }
            bound.value.handler.writeComplete(response, for: head, started: started, context: bound.value.context)
            return nil
        }
        do {
            try await channel.eventLoop.submit {
                bound.value.handler.writeHead(response, for: head, context: bound.value.context)
            }.get()
        } catch {
            return nil
        }
        let writer = BodyWriter(channel: channel) { count in
            channel.eventLoop.execute { bound.value.handler.observer.bytesSent(count) }
        }
        let failure: Error?
        do {
            try await produce(writer)
            failure = nil
        } catch {
            failure = error
        }
        channel.eventLoop.execute {
            if let failure { logger.error("\(what.method) \(what.path) failed while streaming: \(failure)") }
            bound.value.handler.finish(status: response.status.code, started: started, bytes: 0, abort: failure != nil,
                                       context: bound.value.context)
        }
        return nil
    }
}

extension HTTPFields {
    init(_ headers: HTTPHeaders) {
        self.init()
        reserveCapacity(headers.count)
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { append(HTTPField(name: field, value: value)) }
        }
    }
}

extension HTTPHeaders {
    init(_ fields: HTTPFields) {
        self.init()
        for field in fields { add(name: field.name.rawName, value: field.value) }
    }
}

/// The `Date` header, formatted once per second at most.
public enum HTTPDate {
    private static let cache = NIOLockedValueBox((second: 0, text: ""))

    public static func now() -> String {
        let seconds = Int(Date().timeIntervalSince1970)
        return cache.withLockedValue { cache in
            if cache.second != seconds {
                var time = time_t(seconds)
                var parts = tm()
                gmtime_r(&time, &parts)
                var buffer = [CChar](repeating: 0, count: 64)
                let length = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
                cache = (seconds, String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            return cache.text
        }
    }
}
