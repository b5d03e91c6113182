import PulseControl
import Dashboard
import Dispatch
import Foundation
import Glibc
import NIOConcurrencyHelpers

/// Runs the dashboard on the terminal against an arbiter's control socket: polls
/// the status and the log tail, draws, and turns keys into the same control
/// commands `pulse ctl` sends. Embedded in `pulse` or attached with `pulse top`.
public struct DashboardApp {
    public var controlPath: String
    public var embedded: Bool
    public var layout: String
    public var library: LayoutLibrary
    /// Seconds between status polls.
    public var refresh: Double = 1

    public init(controlPath: String, embedded: Bool, layout: String, library: LayoutLibrary) {
        self.controlPath = controlPath
        self.embedded = embedded
        self.layout = layout
        self.library = library
    }

    /// Runs until the operator quits or the arbiter goes away; returns an exit code.
    public func run() -> Int32 {
        var layout: Layout
        do {
            layout = try library.load(self.layout)
        } catch {
            FileHandle.standardError.write(Data("pulse top: \(error) (--layout)\n".utf8))
            return 2
        }
        var client: ControlClient?
        for _ in 0..<50 where client == nil {
            client = try? ControlClient(path: controlPath, timeout: 5)
            if client == nil { usleep(100_000) }
        }
        guard var client else {
            FileHandle.standardError.write(Data("pulse top: no arbiter answers on \(controlPath) (--control)\n".utf8))
            return 2
        }

        let stop = NIOLockedValueBox(false)
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stop.withLockedValue { $0 = true } }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }

        let terminal = Terminal(colors: ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
        defer { terminal.close() }
        let renderer = Renderer(unicode: terminal.unicode)
        let load = LoadGenerator()
        defer { load.stop() }
        var model = DashboardModel(embedded: embedded)
        model.layoutName = layout.name
        var lastPoll = 0.0
        var dirty = true
        var size = (terminal.width, terminal.height)

        while !stop.withLockedValue({ $0 }) {
            let now = Date().timeIntervalSince1970
            if now - lastPoll >= refresh {
                lastPoll = now
                do {
                    try poll(client, into: &model, now: now)
                } catch {
                    // The arbiter is gone (it stopped, or was stopped): nothing left to show.
                    if embedded || (try? ControlClient(path: controlPath, timeout: 2)) == nil { break }
                    client = (try? ControlClient(path: controlPath, timeout: 5)) ?? client
                }
                dirty = true
            }
            if (terminal.width, terminal.height) != size {
                size = (terminal.width, terminal.height)
                dirty = true
            }
            if dirty {
                terminal.draw(renderer.render(model, layout: layout, width: size.0, height: size.1))
                dirty = false
            }
            guard let key = terminal.readKey() else { continue }
            dirty = true
            let rows = Renderer.rows(of: layout, width: size.0, height: size.1)
            var leave = false
            for effect in model.handle(key, workerRows: rows.workers, logRows: rows.logs) {
                switch effect {
                case .control(let request):
                    let response = try? client.send(request)
                    if response?.ok == false { model.say(response?.message) }
                    let stopping = if case .stop = request { true } else { false }
                    if response == nil, !stopping { model.say("the arbiter did not answer") }
                    lastPoll = 0   // show the result at once
                case .setLoad(let on):
                    if on, let target = loadTarget(model) {
                        load.start(host: target.host, port: target.port)
                        model.setLoadRunning(true)
                        model.say("load on: \(target.host):\(target.port)")
                    } else {
                        load.stop()
                        model.setLoadRunning(false)
                        model.say(on ? "no TCP address to load" : "load off")
                    }
                case .nextLayout:
                    let names = library.names()
                    let index = names.firstIndex(of: model.layoutName).map { ($0 + 1) % max(1, names.count) } ?? 0
                    if names.indices.contains(index), let next = try? library.load(names[index]) {
                        layout = next
                        model.layoutName = next.name
                        model.say("layout \(next.name)")
                    } else {
                        model.say("no other layout found")
                    }
                case .exit:
                    leave = true
                }
            }
            if leave { break }
        }
        return 0
    }

    private func poll(_ client: ControlClient, into model: inout DashboardModel, now: Double) throws {
        guard let status = try client.send(.status).status else { return }
        model.update(status: status, now: now)
        let logs = try client.send(.logs(after: model.lastLogSequence)).logs ?? []
        model.append(logs: logs)
    }

    /// The first TCP address of the selected service.
    private func loadTarget(_ model: DashboardModel) -> (host: String, port: Int)? {
        for bind in model.selectedService?.binds ?? [] where !bind.hasPrefix("unix:") {
            guard let colon = bind.lastIndex(of: ":"), let port = Int(bind[bind.index(after: colon)...]) else { continue }
            let host = bind[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            return (host.contains(":") ? "127.0.0.1" : host, port)
        }
        return nil
    }
}
