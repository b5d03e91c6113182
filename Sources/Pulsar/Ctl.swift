import PulseControl
import ArgumentParser
import Foundation

/// `pulse ctl`: steer a running arbiter through its control socket.
struct Ctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Steer a running arbiter through its control socket.",
        discussion: """
            Commands:
              status [SERVICE]          the arbiter, its services and workers (--json for scripts)
              scale +N|-N [SERVICE]     add or remove workers (never below 1)
              workers N [SERVICE]       set the worker count
              mode thread|cooperative [SERVICE]
                                        switch how handlers run (every service when none is named)
              reload [SERVICE]          replace every worker, one at a time, new one ready first
              restart [SERVICE]         clear an errored state and replace every worker
              autoscale MIN:MAX|off [SERVICE]
                                        add and remove workers by load within MIN..MAX, or stop doing so
              kill WORKER [TERM|QUIT|KILL]
                                        signal one worker (a name such as web.2, or a pid):
                                        TERM drains it, QUIT ends it at once, KILL (the default) too, by the kernel
              inspect WORKER            the requests one worker is serving now, longest first
              stop                      drain every worker and exit
            """)

    @Option(help: "The arbiter's control socket (default: the only arbiter running, or the one at --bind).")
    var control: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Steer the arbiter that listens at this address, when several run.", valueName: "address"))
    var bind: String?

    @Option(name: .customLong("service"), help: "The service the command is for; the same as naming it after the command.")
    var serviceName: String?

    @Flag(help: "Print the status as JSON.")
    var json = false

    @Argument(parsing: .allUnrecognized, help: "The command and its arguments.")
    var words: [String] = []

    func validate() throws {
        guard let name = words.first else {
            throw ValidationError("name a command: status, scale, workers, mode, reload, restart, autoscale, kill, inspect or stop")
        }
        let known = ["status", "scale", "workers", "mode", "reload", "restart", "autoscale", "kill", "inspect", "stop"]
        guard known.contains(name) else { throw ValidationError("unknown command '\(name)': use \(known.joined(separator: ", "))") }
        let examples = ["kill": "kill web.1", "inspect": "inspect web.1", "scale": "scale +1", "workers": "workers 4",
                        "mode": "mode cooperative", "autoscale": "autoscale 1:4"]
        if let example = examples[name], words.count < 2 {
            throw ValidationError("\(name) needs an argument, as in `pulse ctl \(example)`")
        }
    }

    func run() throws {
        let name = words[0]
        let takesArgument = ["scale", "workers", "kill", "inspect", "mode", "autoscale"].contains(name)
        let serviceIndex = takesArgument ? 2 : 1
        let namesAWorker = ["kill", "inspect"].contains(name)
        let service = namesAWorker || name == "stop" || words.count <= serviceIndex ? serviceName : words[serviceIndex]
        let signal = name == "kill" && words.count > 2 ? words[2] : nil
        // Parsed by the code the arbiter uses: a bad argument is refused in its words, as it would be.
        let request: ControlCommand
        do {
            request = try ControlCommand(command: name, argument: takesArgument ? words[1] : nil, service: service, signal: signal)
        } catch {
            FileHandle.standardError.write(Data("pulse ctl: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let response: ControlResponse
        do {
            let path = absolutePath(try ControlDiscovery.choose(explicit: control, bind: bind))
            let client = try ControlClient(path: path)
            client.origin = "pulse ctl"
            response = try client.send(request)
        } catch {
            FileHandle.standardError.write(Data("pulse ctl: \(error)\n".utf8))
            throw ExitCode(2)
        }
        guard response.ok else {
            FileHandle.standardError.write(Data("pulse ctl: \(response.message ?? "refused")\n".utf8))
            throw ExitCode(1)
        }
        if request == .status, var status = response.status {
            if let service { status.services = status.services.filter { $0.name == service } }
            if json {
                FileHandle.standardOutput.write(Data(try ControlCodec.encode(status, pretty: true)))
            } else {
                print(StatusTable.render(status), terminator: "")
            }
        } else if let inflight = response.inflight {
            print(inflight.isEmpty ? "\(words[1]) serves no request now" : inflight.map(\.description).joined(separator: "\n"))
        } else if let message = response.message {
            print(message)
        }
    }
}
