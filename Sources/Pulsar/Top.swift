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

    @Option(help: "The arbiter's control socket (default: the only arbiter running, or the one at --bind).")
    var control: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Attach to the arbiter that listens at this address, when several run.", valueName: "address"))
    var bind: String?

    @Option(help: "A layout name from layouts/, or the path of a layout file.")
    var layout: String = "default"

    @Option(help: "Seconds between status refreshes.")
    var refresh: Double = 1

    /// Set by the arbiter when it runs the dashboard on its own terminal: quitting stops the server.
    @Flag(help: .hidden)
    var embedded = false

    func validate() throws {
        guard refresh >= 0.1 else { throw ValidationError("--refresh must be at least 0.1 seconds (got \(refresh))") }
        do { _ = try LayoutLibrary.standard(executable: currentExecutable()).load(layout) } catch {
            throw ValidationError("--layout: \(error)")
        }
    }

    func run() throws {
        let path: String
        do {
            path = try ControlDiscovery.choose(explicit: control, bind: bind)
        } catch {
            FileHandle.standardError.write(Data("pulse top: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var app = DashboardApp(controlPath: absolutePath(path), embedded: embedded,
                               layout: layout, library: LayoutLibrary.standard(executable: currentExecutable()))
        app.refresh = refresh
        let code = app.run()
        if code != 0 { throw ExitCode(code) }
    }
}
