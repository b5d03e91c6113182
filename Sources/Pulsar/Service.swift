@_exported import Mailbox
@_exported import PulsarRuntime
@_exported import Server
@_exported import HTTPTypes
@_exported import PulsarClients
@_exported import Postgres

/// A named application served by its own workers on its own addresses: what
/// pulsar called serving more than one application under one arbiter.
public struct Service: Sendable {
    public var name: String
    /// Addresses to listen on; `nil` takes them from `--bind`.
    public var binds: [Bind]?
    /// Worker count; `nil` takes it from `--workers`.
    public var workers: Int?
    public var app: App

    public init(name: String = "web", binds: [Bind]? = nil, workers: Int? = nil, app: App) {
        self.name = name
        self.binds = binds
        self.workers = workers
        self.app = app
    }
}
