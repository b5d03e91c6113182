import DataStore
import Foundation
import Logging
import NIOCore

/// The embedded data store served by a supervised worker: one process, one event
/// loop, one `Store`, as Redis is one thread.
struct DataStoreService: ConnectionServing {
    /// The reserved service name of the embedded data store.
    static let name = "ds"

    let password: String?
    let snapshotFile: String?
    let saveRules: [SaveRule]
    private let holder = StoreHolder()

    init(settings: WorkerSettings) {
        password = settings.dataStorePassword
        snapshotFile = settings.dataStoreFile
        saveRules = settings.dataStoreSaveRules.compactMap(SaveRule.init(parsing:))
    }

    func boot(on loop: EventLoop) async throws {
        let holder = self.holder
        let (password, file, rules) = (self.password, snapshotFile, saveRules)
        let logger = Logger(label: "ds")
        try await loop.submit {
            let store = Store(password: password, snapshotPath: file)
            do {
                try store.load()
            } catch {
                throw StoreLoadError(description: "cannot load the snapshot \(file ?? ""): \(error)")
            }
            if let file, store.keyCount > 0 { logger.info("loaded \(store.keyCount) keys from \(file)") }
            store.saveRules = rules
            holder.store = store
            let bound = NIOLoopBound(store, eventLoop: loop)
            loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { _ in bound.value.cron() }
            // The rules may change (CONFIG SET save): they are read each time.
            loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                bound.value.applySaveRules { logger.info("\($0)") }
            }
        }.get()
    }

    func configure(_ channel: Channel) throws {
        guard let store = holder.store else { throw DataStoreNotBooted() }
        try channel.pipeline.syncOperations.addHandler(RESPConnectionHandler(store: store))
    }

    func fill(_ report: inout WorkerReport) {
        guard let store = holder.store else { return }
        report.requests = store.commandsProcessed
        report.dataStore = DataStoreFigures(keys: store.keyCount, channels: store.channelCount, subscribers: store.subscriberCount,
                                            clients: store.connections)
    }
}

/// The worker's store, created on its event loop and only touched there.
// @unchecked: set once on the loop during boot, before any connection reads it there.
private final class StoreHolder: @unchecked Sendable {
    var store: Store?
}

private struct DataStoreNotBooted: Error {}

private struct StoreLoadError: Error, CustomStringConvertible {
    let description: String
}

/// Where the data store is: `pulsar://HOST:PORT/DB` runs the embedded one,
/// `redis://HOST:PORT/DB` uses a Redis that runs elsewhere.
struct DataStoreURL: Equatable {
    enum Kind: Equatable { case embedded, redis }
    var kind: Kind
    var host: String
    var port: Int
    var database: Int

    static let `default` = DataStoreURL(kind: .embedded, host: "127.0.0.1", port: 6410, database: 0)

    init(kind: Kind, host: String, port: Int, database: Int) {
        self.kind = kind
        self.host = host
        self.port = port
        self.database = database
    }

    init?(_ text: String) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else { return nil }
        switch scheme {
        case "pulsar": kind = .embedded
        case "redis": kind = .redis
        default: return nil
        }
        self.host = host
        port = components.port ?? (kind == .embedded ? 6410 : 6379)
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard let database = path.isEmpty ? 0 : Int(path), (0..<16).contains(database) else { return nil }
        self.database = database
    }
}
