import Arbiter
import PulseControl
import ArgumentParser
import Dashboard
import DashboardTerminal
import Foundation

/// `pulse top`: the dashboard, attached to an arbiter that runs elsewhere
/// (headless, under systemd...) through its control socket only.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach the dashboard to a running arbiter through its control socket.",
        discussion: "Quitting it (q, then y) leaves the server running.")

    @Option(help: "An arbiter's control socket (default: the only arbiter running, or the one at --bind); repeat it to watch several.")
    var control: [String] = []

    @Option(name: [.short, .long], help: ArgumentHelp("Attach to the arbiter that listens at this address, when several run; repeat it to watch several.", valueName: "address"))
    var bind: [String] = []

    @Option(help: "A layout name from layouts/, or the path of a layout file.")
    var layout: String = "default"

    @Option(help: "Seconds between status refreshes.")
    var refresh: Double = 1

    /// Set by the arbiter when it runs the dashboard on its own terminal: quitting stops the server.
    @Flag(help: .hidden)
    var embedded = false

    func validate() throws {
        guard !embedded || control.count + bind.count <= 1 else { throw ValidationError("the embedded dashboard watches one arbiter") }
        guard refresh >= 0.1 else { throw ValidationError("--refresh must be at least 0.1 seconds (got \(refresh))") }
        do { _ = try LayoutLibrary.standard(executable: currentExecutable()).load(layout) } catch {
            throw ValidationError("--layout: \(error)")
        }
    }

    func run() throws {
        var paths: [String] = []
        do {
            paths = control.isEmpty && bind.isEmpty ? [try ControlDiscovery.choose(explicit: nil, bind: nil)]
                : try control.map { try ControlDiscovery.choose(explicit: $0, bind: nil) }
                    + bind.map { try ControlDiscovery.choose(explicit: nil, bind: $0) }
        } catch {
            FileHandle.standardError.write(Data("pulse top: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var app = DashboardApp(controlPaths: paths.map(absolutePath), embedded: embedded,
                               layout: layout, library: LayoutLibrary.standard(executable: currentExecutable()))
        app.refresh = refresh
        let code = app.run()
        if code != 0 { throw ExitCode(code) }
    }
}
