// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Pulsar",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Pulsar", targets: ["Pulsar"]),
        .executable(name: "pulse", targets: ["pulse"]),
        // Vapor and Hummingbird apps under pulse. Each needs its trait, so that a
        // user of neither resolves, fetches and builds neither (SwiftPM prunes the
        // dependencies of disabled traits).
        .library(name: "PulsarHummingbird", targets: ["PulsarHummingbird"]),
        .library(name: "PulsarVapor", targets: ["PulsarVapor"]),
        .executable(name: "pulse-hummingbird-example", targets: ["HummingbirdExample"]),
        .executable(name: "pulse-vapor-example", targets: ["VaporExample"]),
    ],
    traits: [
        .trait(name: "Hummingbird", description: "PulsarHummingbird: serve a Hummingbird 2 app under pulse"),
        .trait(name: "Vapor", description: "PulsarVapor: serve a Vapor 4 app under pulse"),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/vapor/fluent.git", from: "4.13.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
    ],
    targets: [
        // Everything Glibc does not import (posix_spawn file actions, prctl,
        // setproctitle, accept4): one C target, so every C call has one home.
        .target(name: "CPulseSystem", cSettings: [.define("_GNU_SOURCE")]),
        // The vocabulary shared by the arbiter and its workers: binds, settings,
        // messages and their framing. Knows no processes and no HTTP.
        .target(
            name: "Mailbox",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // The control and status vocabulary: commands, the status snapshot, states,
        // exit intents, the codec and a blocking client. The arbiter's control server,
        // `pulse ctl`, `pulse top` and the dashboard all speak it; none needs the other.
        .target(name: "PulseControl", dependencies: ["Mailbox"]),
        // Spawning, supervising, scaling and reloading workers; the control socket.
        // Never links the HTTP stack it supervises.
        .target(
            name: "Arbiter",
            dependencies: [
                "CPulseSystem", "Mailbox", "PulseControl",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What code running in a worker may ask of it, without the worker: the
        // execution mode and waiting primitives, the worker's context.
        .target(
            name: "PulsarRuntime",
            dependencies: [
                "Mailbox",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The worker process: accepting on inherited sockets, HTTP/1.1 on NIO,
        // the app API, heartbeats and draining.
        .target(
            name: "Server",
            dependencies: [
                "CPulseSystem", "Mailbox", "PulsarRuntime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                // zlib for permessage-deflate (the system's libz, which Foundation needs anyway).
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The dashboard as pure code: model, layouts, widgets, key map. It renders a
        // status snapshot into a canvas and knows no sockets and no terminal.
        .target(
            name: "Dashboard",
            dependencies: ["PulseControl", .product(name: "Yams", package: "Yams")]
        ),
        .systemLibrary(name: "CNCurses", path: "Sources/CNCurses"),
        // The dashboard on a real terminal: ncurses, the control socket, the built-in load.
        .target(name: "DashboardTerminal", dependencies: ["Dashboard", "PulseControl", "CNCurses", "CPulseSystem"]),
        // The embedded data store: RESP, the keyspace, commands and pub/sub.
        .target(
            name: "DataStore",
            dependencies: ["CPulseSystem", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ"),
        // PostgreSQL on libpq: blocking calls for thread mode, non-blocking ones for the rest.
        .target(name: "Postgres", dependencies: ["CLibPQ", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        // Clients for the project's own services, waiting the way the execution mode asks.
        .target(
            name: "PulsarClients",
            dependencies: [
                "DataStore", "PulsarRuntime", "Postgres", "Mailbox",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The public umbrella: services, the `pulse` command line, `Pulsar.main`.
        .target(
            name: "Pulsar",
            dependencies: [
                "Arbiter", "PulseControl", "PulsarRuntime", "Server", "Mailbox", "DashboardTerminal", "DataStore", "PulsarClients", "Postgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "pulse",
            dependencies: ["Pulsar", .product(name: "HTTPTypes", package: "swift-http-types")]
        ),
        // Endpoints that sleep, block the loop, crash or fail at boot: for the
        // integration tests only, never part of the `pulse` product.
        .executableTarget(
            name: "PulseTestApp",
            dependencies: ["Pulsar", .product(name: "HTTPTypes", package: "swift-http-types")]
        ),
        // A Hummingbird responder served by pulse workers with Hummingbird's own HTTP/1.1
        // channel; the sources compile to nothing without the trait.
        .target(
            name: "PulsarHummingbird",
            dependencies: [
                "Pulsar",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Hummingbird"])),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket", condition: .when(traits: ["Hummingbird"])),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras", condition: .when(traits: ["Hummingbird"])),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // A Vapor application served by pulse workers through pulse's HTTP pipeline.
        .target(
            name: "PulsarVapor",
            dependencies: [
                "Pulsar", "Mailbox", "PulsarRuntime",
                .product(name: "Vapor", package: "vapor", condition: .when(traits: ["Vapor"])),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "HummingbirdExample",
            dependencies: [
                "PulsarHummingbird",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Hummingbird"])),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket", condition: .when(traits: ["Hummingbird"])),
            ],
            path: "Examples/Hummingbird"
        ),
        .executableTarget(
            name: "VaporExample",
            dependencies: [
                "PulsarVapor",
                .product(name: "Vapor", package: "vapor", condition: .when(traits: ["Vapor"])),
                .product(name: "Fluent", package: "fluent", condition: .when(traits: ["Vapor"])),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver", condition: .when(traits: ["Vapor"])),
            ],
            path: "Examples/Vapor"
        ),
        .testTarget(
            name: "MailboxTests",
            dependencies: ["Mailbox", .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
        .testTarget(name: "ArbiterTests", dependencies: ["Arbiter", "Mailbox", "PulseControl"]),
        .testTarget(name: "PulseControlTests", dependencies: ["PulseControl", "Mailbox"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Mailbox", "PulsarRuntime", "TestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .testTarget(name: "PulsarTests", dependencies: ["Pulsar"]),
        .testTarget(name: "PulsarClientsTests", dependencies: ["PulsarClients", "TestSupport"]),
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard", "PulseControl"]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        // Helpers several test targets share: free ports, spawning, off-pool waits, and
        // the `.blockingAllowed` trait for suites that block their threads.
        .target(name: "TestSupport", dependencies: [.product(name: "CompressNIO", package: "compress-nio")], path: "Tests/TestSupport"),
        .testTarget(
            name: "DataStoreTests",
            dependencies: ["DataStore", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "pulse", "PulseTestApp", "Mailbox", "Arbiter", "PulseControl", "PulsarRuntime", "DataStore", "PulsarClients", "Server",
                "TestSupport",
                // Started by `FrameworkAppTests`, which compiles only with the Hummingbird and Vapor traits.
                "HummingbirdExample", "VaporExample",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
