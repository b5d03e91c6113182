import Foundation
import HTTPTypes
import NIOCore
import PulsarRuntime

/// An HTTP request as a handler sees it: the head, the whole body, and where it came from.
public struct Request: Sendable {
    public var method: HTTPRequest.Method
    /// The request target in origin form, query included, as sent.
    public var target: String
    /// The path without its query, as sent (percent-encoding kept).
    public var path: String
    public var queryItems: [QueryItem]
    public var headers: HTTPFields
    public var body: ByteBuffer
    /// The body as it arrives, for routes declared with `body: .stream`; nil otherwise.
    public var bodyStream: RequestBodyStream?
    /// Values of `:name` segments of the matched route.
    public var pathParameters: [String: String] = [:]
    public var remoteAddress: String?
    /// The worker's event loop. Blocking it stalls the whole worker, and its
    /// heartbeats: the arbiter will kill a worker whose loop stays blocked.
    public let eventLoop: EventLoop
    /// The worker serving the request: its settings, the data store's address, and
    /// values it shares between requests (`WorkerContext.shared`).
    public let context: WorkerContext

    public init(method: HTTPRequest.Method, target: String, headers: HTTPFields = [:], body: ByteBuffer = ByteBuffer(),
                remoteAddress: String? = nil, eventLoop: EventLoop, context: WorkerContext = .standalone) {
        self.method = method
        self.target = target
        if let mark = TargetSplitting.queryMark(in: target) {
            self.path = String(target[..<mark])
            self.queryItems = QueryItem.parse(String(target[target.index(after: mark)...]))
        } else {
            self.path = target
            self.queryItems = []
        }
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.eventLoop = eventLoop
        self.context = context
    }

    /// The first value of query parameter `name`, decoded.
    public func query(_ name: String) -> String? { queryItems.first { $0.name == name }?.value }

    /// The body as UTF-8 text.
    public var bodyText: String { String(buffer: body) }
}

/// One `name=value` pair of a query string, percent-decoded.
public struct QueryItem: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    static func parse(_ query: String) -> [QueryItem] {
        query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            return QueryItem(name: decode(parts[0]), value: parts.count > 1 ? decode(parts[1]) : "")
        }
    }
}

