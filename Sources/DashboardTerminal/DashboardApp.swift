import PulseControl
import Dashboard
import Dispatch
import Foundation
import Glibc
import Mailbox
import NIOConcurrencyHelpers

/// Runs the dashboard on the terminal against arbiters' control sockets: polls
/// the status and the log tail, draws, and turns keys into the same control
/// commands `pulse ctl` sends. Embedded in `pulse` or attached with `pulse top`
/// (to several arbiters at once, merged by `ArbiterSet`).
public struct DashboardApp {
    public var controlPaths: [String]
    public var embedded: Bool
    public var layout: String
    public var library: LayoutLibrary
    /// Seconds between status polls.
    public var refresh: Double = 1

    public init(controlPaths: [String], embedded: Bool, layout: String, library: LayoutLibrary) {
        self.controlPaths = controlPaths
        self.embedded = embedded
        self.layout = layout
        self.library = library
    }

    /// Runs until the operator quits or the arbiter goes away; returns an exit code.
    public func run() -> Int32 {
        let layout: Layout
        do {
            layout = try library.load(self.layout)
        } catch {
            FileHandle.standardError.write(Data("pulse top: \(error) (--layout)\n".utf8))
            return 2
        }
        var clients: [ControlClient] = []
        for path in controlPaths {
            guard let client = connect(path) else {
                FileHandle.standardError.write(Data("pulse top: no arbiter answers on \(path) (--control)\n".utf8))
                return 2
            }
            clients.append(client)
        }
        let stop = NIOLockedValueBox(false)
        let sources = [SIGTERM, SIGHUP].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stop.withLockedValue { $0 = true } }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }

        let session = DashboardSession(app: self, clients: clients, layout: layout)
        defer { session.close() }
        while !stop.withLockedValue({ $0 }) {
            guard session.pollIfDue(now: Date().timeIntervalSince1970) else { break }
            session.drawIfNeeded()
            guard let key = session.terminal.readKey() else { continue }
            if !session.handle(key) { break }
        }
        return session.detached ? DashboardExit.detached : 0
    }

    /// The arbiter may still be starting (the embedded dashboard starts with it): try for 5 s.
    func connect(_ path: String, attempts: Int = 50) -> ControlClient? {
        for attempt in 0..<attempts {
            if let client = try? ControlClient(path: path, timeout: 5) {
                client.origin = embedded ? "dashboard" : "pulse top"
                return client
            }
            if attempt + 1 < attempts { usleep(100_000) }
        }
        return nil
    }
}

/// One run of the dashboard: the terminal, the model, the connection and the
/// built-in load, and what a poll, a redraw and a key do to them.
final class DashboardSession {
    let app: DashboardApp
    let terminal: Terminal
    private let renderer: Renderer
    private let load = LoadGenerator()
    /// One per arbiter, nil while it does not answer; and the last log line read from each.
    private var clients: [ControlClient?]
    private var logSequences: [Int]
    private var layout: Layout
    private var model: DashboardModel
    private var lastPoll = 0.0
    /// The operator pressed `d` in the arbiter's own dashboard.
    private(set) var detached = false
    private var dirty = true
    private var size: (Int, Int)

    init(app: DashboardApp, clients: [ControlClient], layout: Layout) {
        self.app = app
        self.clients = clients
        logSequences = clients.map { _ in 0 }
        self.layout = layout
        terminal = Terminal(colors: ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
        renderer = Renderer(unicode: terminal.unicode)
        model = DashboardModel(embedded: app.embedded)
        model.layoutName = layout.name
        size = (terminal.width, terminal.height)
    }

    func close() {
        load.stop()
        terminal.close()
    }

    /// Polls when a refresh is due; false when the arbiter is gone and there is nothing left to show.
    func pollIfDue(now: Double) -> Bool {
        guard now - lastPoll >= app.refresh else { return true }
        lastPoll = now
        dirty = true
        var statuses: [StatusSnapshot?] = []
        var entries: [(Int, LogEntry)] = []
        for index in clients.indices {
            do {
                guard let client = clients[index] else { throw ControlClientGone() }
                let status = try client.send(.status).status
                statuses.append(status)
                // While the display is paused, the lines wait in the arbiter's log.
                let logs = model.paused ? [] : try client.send(.logs(after: logSequences[index])).logs ?? []
                logSequences[index] = logs.last?.seq ?? logSequences[index]
                entries += logs.map { (index, $0) }
            } catch {
                statuses.append(nil)
                // The arbiter is gone (it stopped, or was stopped), or the connection broke.
                if app.embedded { return false }
                clients[index] = app.connect(app.controlPaths[index], attempts: 1)
                if clients.count == 1, clients[index] == nil { return false }
            }
        }
        if let merged = ArbiterSet.merge(statuses) { model.update(status: merged, now: now) }
        model.setSections(zip(app.controlPaths, statuses).map { ArbiterSection(control: $0, arbiter: $1?.arbiter) })
        var seq = model.lastLogSequence
        // By time across arbiters; each arbiter's own order kept for lines of the same instant.
        let ordered = entries.enumerated().sorted { ($0.element.1.time, $0.offset) < ($1.element.1.time, $1.offset) }.map(\.element)
        model.append(logs: ordered.map { index, entry in
            seq += 1
            return ArbiterSet.entry(entry, of: index, count: clients.count, seq: seq)
        })
        if let worker = model.inspecting, let (index, request) = ArbiterSet.route(.inspect(worker: worker), count: clients.count),
           let inflight = try? clients[index]?.send(request).inflight {
            model.setInflight(inflight, of: worker)
        }
        return true
    }

    func drawIfNeeded() {
        if (terminal.width, terminal.height) != size {
            size = (terminal.width, terminal.height)
            dirty = true
        }
        guard dirty else { return }
        terminal.draw(renderer.render(model, layout: layout, width: size.0, height: size.1))
        dirty = false
    }

    /// Carries out what a key asks; false when the dashboard should leave.
    func handle(_ key: Key) -> Bool {
        dirty = true
        let rows = Renderer.rows(of: layout, width: size.0, height: size.1, model)
        var stay = true
        let effects: [DashboardModel.Effect]
        if case .mouse(let event) = key {
            let hit = renderer.hit(x: event.x, y: event.y, model: model, layout: layout, width: size.0, height: size.1)
            effects = model.handle(mouse: event, at: hit)
        } else {
            effects = model.handle(key, workerRows: rows.workers, logRows: rows.logs)
        }
        for effect in effects {
            stay = perform(effect) && stay
        }
        return stay
    }

    private func perform(_ effect: DashboardModel.Effect) -> Bool {
        switch effect {
        case .control(let command):
            guard let (index, request) = ArbiterSet.route(command, count: clients.count) else {
                model.say("select a worker of the arbiter to act on")
                return true
            }
            let response = try? clients[index]?.send(request)
            if response?.ok == false { model.say(response?.message) }
            let stopping = if case .stop = request { true } else { false }
            if response == nil, !stopping { model.say("the arbiter did not answer") }
            lastPoll = 0   // show the result at once
        case .setLoad(let level):
            setLoad(level)
        case .nextLayout:
            nextLayout()
        case .refresh:
            lastPoll = 0
        case .writeLog(let lines):
            model.say(Self.write(lines))
        case .exit:
            return false
        case .detach:
            detached = true
            return false
        }
        return true
    }

    private func setLoad(_ level: DashboardModel.LoadLevel) {
        load.stop()
        guard level != .off else {
            model.setLoadLevel(.off)
            model.say("load off")
            return
        }
        guard let service = model.webService, let plan = LoadPlan(level, for: service) else {
            model.setLoadLevel(.off)
            model.say("no TCP address to load")
            return
        }
        load.start(plan)
        model.setLoadLevel(level)
        model.say("load \(level.rawValue): \(plan.label) on \(plan.host):\(plan.port)")
    }

    private func nextLayout() {
        let names = app.library.names()
        let index = names.firstIndex(of: model.layoutName).map { ($0 + 1) % max(1, names.count) } ?? 0
        if names.indices.contains(index), let next = try? app.library.load(names[index]) {
            layout = next
            model.layoutName = next.name
            model.say("layout \(next.name)")
        } else {
            model.say("no other layout found")
        }
    }

    /// Writes the log as shown to `pulse-log-<time>.txt` in the working directory
    /// (the temporary directory when that is not writable); says where, or why not.
    static func write(_ lines: [String]) -> String {
        let stamp = LogTime.iso8601(Date()).replacingOccurrences(of: ":", with: "").prefix(17)
        let name = "pulse-log-\(stamp).txt"
        let text = Data(lines.map { $0 + "\n" }.joined().utf8)
        let temporary = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        for folder in [FileManager.default.currentDirectoryPath, temporary] {
            let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
            if FileManager.default.createFile(atPath: path, contents: text) {
                return "wrote \(lines.count) lines to \(path)"
            }
        }
        return "could not write \(name) in the working directory or \(temporary)"
    }
}

/// A control socket that stopped answering and has not come back yet.
struct ControlClientGone: Error {}
