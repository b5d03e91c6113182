import ArgumentParser
import Foundation
import NIOConcurrencyHelpers

/// The entry point of an executable that serves apps under the pulse arbiter.
///
/// The same executable runs as the arbiter (parsing the `pulse` command line) and,
/// re-executed by it, as each worker; so `main` must be reached the same way in
/// both, before anything else that matters runs.
public enum Pulsar {
    /// Runs the `pulse` command line for these services; never returns.
    public static func main(_ services: [Service]) -> Never {
        if let launchJSON = ProcessInfo.processInfo.environment[WorkerLaunch.environmentKey] {
            runWorker(launchJSON, services: services)
        }
        precondition(!services.isEmpty, "Pulsar.main needs at least one service")
        precondition(Set(services.map(\.name)).count == services.count, "service names must be unique")
        precondition(!services.contains { $0.name == DataStoreService.name }, "the service name 'ds' is the data store's")
        ServiceRegistry.services.withLockedValue { $0 = services }
        PulseCommand.main(withGreenletDefault(Array(CommandLine.arguments.dropFirst())))
        exit(0)
    }

    /// Runs the `pulse` command line for one app, the service `web`.
    public static func main(app: App) -> Never {
        main([Service(name: "web", app: app)])
    }

    private static func runWorker(_ json: String, services: [Service]) -> Never {
        guard let launch = try? JSONDecoder().decode(WorkerLaunch.self, from: Data(json.utf8)) else {
            FileHandle.standardError.write(Data("[critical] unreadable \(WorkerLaunch.environmentKey)\n".utf8))
            exit(70)
        }
        if launch.service == DataStoreService.name {
            Worker.run(launch: launch, serving: .connections(DataStoreService(settings: launch.settings)))
        }
        guard let service = services.first(where: { $0.name == launch.service }) else {
            FileHandle.standardError.write(Data("[critical] this executable declares no service '\(launch.service)'\n".utf8))
            exit(70)
        }
        Worker.run(launch: launch, app: service.app)
    }
}

/// The services `Pulsar.main` was given, for the command line to read.
enum ServiceRegistry {
    static let services = NIOLockedValueBox<[Service]>([])
}
