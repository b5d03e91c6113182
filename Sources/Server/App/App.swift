import PulsarRuntime

/// An application a service serves: its routes, and what it does once per worker
/// before accepting (connect to a database, warm a cache).
///
/// A worker whose `boot` throws exits before it reports ready; the arbiter counts
/// that as a boot failure and backs off.
public struct App: Sendable {
    public var router: Router
    /// Runs once per worker with the worker's context (its settings, the data
    /// store's address, heartbeat reporters).
    public var boot: @Sendable (WorkerContext) async throws -> Void
    /// Set when another HTTP server (Hummingbird's) serves the connections; the
    /// router is then unused.
    public var hosted: (any HostedServing)?

    public init(router: Router, boot: @escaping @Sendable (WorkerContext) async throws -> Void) {
        self.router = router
        self.boot = boot
    }

    /// An app served by another HTTP server, scheduled and supervised by pulse
    /// (see `PulsarHummingbird`).
    public init(hosted: some HostedServing) {
        self.router = Router()
        self.boot = { _ in }
        self.hosted = hosted
    }

    /// An app whose boot needs nothing from its worker.
    public init(router: Router, boot: @escaping @Sendable () async throws -> Void = {}) {
        self.router = router
        self.boot = { _ in try await boot() }
    }
}
