import ArgumentParser

/// `pulse`: run the arbiter (the default), or steer one that runs.
struct PulseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pulse",
        abstract: "A pre-fork application server for Swift.",
        version: pulsarVersion,
        subcommands: [Serve.self, Ctl.self, Top.self, Migrate.self],
        defaultSubcommand: Serve.self)
}
