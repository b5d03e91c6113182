import Mailbox
import NIOConcurrencyHelpers
import NIOCore

/// What app code may know of the worker it runs in, handed to it rather than
/// looked up: `App`'s boot receives it, and every `Request` carries it.
///
/// Thread-safe: handlers run on pool threads and on the event loop alike.
public final class WorkerContext: Sendable {
    /// The worker's name, such as `web.3`.
    public let name: String
    /// The settings the arbiter launched the worker with.
    public let settings: WorkerSettings
    /// The worker's event loop, where its connections live (nil outside a worker).
    /// A framework that must share the worker's loops (Vapor's `Application`) uses it.
    public let eventLoop: (any EventLoop)?
    private let reporters = NIOLockedValueBox<[@Sendable (inout WorkerReport) -> Void]>([])
    private let shared = NIOLockedValueBox<[ObjectIdentifier: any Sendable]>([:])

    public init(name: String, settings: WorkerSettings, eventLoop: (any EventLoop)? = nil) {
        self.name = name
        self.settings = settings
        self.eventLoop = eventLoop
    }

    /// A context for code running outside a worker (tests, tools): default settings.
    public static let standalone = WorkerContext(name: "standalone", settings: WorkerSettings())

    /// Where the app's data store is (`pulsar://` or `redis://`), if any.
    public var dataStoreURL: String? { settings.dataStoreURL }

    /// Adds figures of the app's own (a database pool...) to every heartbeat.
    /// `report` runs on the worker's event loop before each heartbeat.
    public func addReporter(_ report: @escaping @Sendable (inout WorkerReport) -> Void) {
        reporters.withLockedValue { $0.append(report) }
    }

    /// Lets every reporter add its figures.
    public func fill(_ report: inout WorkerReport) {
        for reporter in reporters.withLockedValue({ $0 }) { reporter(&report) }
    }

    /// One value of a type per worker, made by `make` on first use (a client and its
    /// pool, say). A `make` that throws leaves nothing behind, so the next call retries.
    public func shared<Value: Sendable>(_ type: Value.Type = Value.self, make: () throws -> Value) rethrows -> Value {
        try shared.withLockedValue { values in
            if let value = values[ObjectIdentifier(type)] as? Value { return value }
            let value = try make()
            values[ObjectIdentifier(type)] = value
            return value
        }
    }
}
