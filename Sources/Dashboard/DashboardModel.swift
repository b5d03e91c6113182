import PulseControl
import Foundation
import Mailbox

/// Everything the dashboard shows and remembers between frames: the last status,
/// the log tail, history for the sparkline, and what the operator selected.
///
/// Pure: keys come in, effects (control requests, local toggles) come out, and
/// `Renderer` draws it. No sockets, no terminal.
public struct DashboardModel: Sendable {
    public enum Focus: Sendable { case workers, logs }

    public enum Overlay: Equatable, Sendable {
        case help
        case confirmKill(worker: String, pid: Int32)
        case confirmQuit
        case filterInput(String)
    }

    /// What the driver must do for a key.
    public enum Effect: Equatable, Sendable {
        case control(ControlCommand)
        case setLoad(LoadLevel)
        case nextLayout
        /// Leave the dashboard (the server keeps running unless a stop was sent).
        case exit
        /// Leave the arbiter's own dashboard and tell it the server is to run on
        /// headless, through a hang-up of its terminal too.
        case detach
    }

    public private(set) var status: StatusSnapshot?
    public private(set) var logs: [LogEntry] = []
    public var lastLogSequence: Int { logs.last?.seq ?? 0 }
    /// Requests per second of all workers, one sample per status, oldest first.
    public private(set) var rpsHistory: [Double] = []
    public private(set) var errorRates = (clientErrors: 0.0, serverErrors: 0.0)
    private var previousClasses: (counts: [Int], at: Double)?

    public private(set) var selected = 0
    public private(set) var workerScroll = 0
    public private(set) var sort: WorkerColumn = .id
    public private(set) var focus: Focus = .workers
    /// Lines scrolled up from the tail; 0 follows it.
    public private(set) var logScroll = 0
    public private(set) var filter = LogFilter()
    public private(set) var paused = false
    public private(set) var overlay: Overlay?
    /// The built-in load `g` cycles through.
    public enum LoadLevel: String, Sendable, Equatable {
        case off, light, saturating

        var next: LoadLevel {
            switch self {
            case .off: .light
            case .light: .saturating
            case .saturating: .off
            }
        }
    }

    public private(set) var loadLevel = LoadLevel.off
    public var loadRunning: Bool { loadLevel != .off }
    public private(set) var flash: String?
    public var layoutName = "default"
    /// Embedded in the arbiter: quitting stops the server. Attached with `pulse top`: it does not.
    public let embedded: Bool

    static let sortOrder: [WorkerColumn] = [.id, .rps, .p99, .cpu, .rss, .restarts, .uptime]
    static let historyLength = 240
    static let logCapacity = 5000

    public init(embedded: Bool) { self.embedded = embedded }

    // MARK: - Data

    /// A new status arrived at `now` (seconds). Ignored while the display is paused.
    public mutating func update(status: StatusSnapshot, now: Double) {
        guard !paused else { return }
        let workers = status.services.flatMap(\.workers)
        rpsHistory.append(workers.reduce(0) { $0 + $1.rps })
        if rpsHistory.count > Self.historyLength { rpsHistory.removeFirst(rpsHistory.count - Self.historyLength) }
        let classes = workers.reduce(into: [0, 0, 0, 0, 0]) { sums, worker in
            for (index, count) in worker.statusClasses.enumerated() where index < 5 { sums[index] += count }
        }
        if let previous = previousClasses, now > previous.at {
            let seconds = now - previous.at
            errorRates = (Double(max(0, classes[3] - previous.counts[3])) / seconds,
                          Double(max(0, classes[4] - previous.counts[4])) / seconds)
        }
        previousClasses = (classes, now)
        self.status = status
        clampSelection()
    }

    public mutating func append(logs entries: [LogEntry]) {
        guard !paused, !entries.isEmpty else { return }
        let fresh = entries.filter { $0.seq > lastLogSequence }
        logs.append(contentsOf: fresh)
        if logs.count > Self.logCapacity { logs.removeFirst(logs.count - Self.logCapacity) }
        if logScroll > 0 { logScroll += fresh.filter(filter.matches).count }   // keep the view still
    }

    public mutating func setLoadLevel(_ level: LoadLevel) { loadLevel = level }

    /// Under the saturating load in thread mode, with requests waiting for a thread:
    /// the moment to show what the other mode does.
    public var shouldHintModeSwitch: Bool {
        guard loadLevel == .saturating, let service = selectedService, service.mode == .thread else { return false }
        return service.workers.contains { ($0.queue ?? 0) > 0 }
    }
    public mutating func say(_ text: String?) { flash = text }

    // MARK: - Derived

    /// Workers of every service in the current sort order, those of auxiliary
    /// services (the data store) after the others.
    public var sortedWorkers: [WorkerStatus] {
        let workers = status?.services.flatMap { service in service.workers.map { (service.auxiliary, $0) } } ?? []
        return workers.enumerated().sorted { a, b in
            if a.element.0 != b.element.0 { return !a.element.0 }
            let (ka, kb) = (sort.sortKey(a.element.1), sort.sortKey(b.element.1))
            return ka != kb ? ka < kb : a.offset < b.offset
        }.map(\.element.1)
    }

    public var selectedWorker: WorkerStatus? {
        let workers = sortedWorkers
        return workers.indices.contains(selected) ? workers[selected] : nil
    }

    /// The service of the selected worker, or the first one.
    public var selectedService: ServiceStatus? {
        guard let status else { return nil }
        if let worker = selectedWorker, let service = status.services.first(where: { $0.workers.contains { $0.pid == worker.pid } }) {
            return service
        }
        return status.services.first
    }

    public var visibleLogs: [LogEntry] { filter.isEmpty ? logs : logs.filter(filter.matches) }

    private mutating func clampSelection() {
        let count = sortedWorkers.count
        selected = count == 0 ? 0 : min(max(0, selected), count - 1)
    }

    // MARK: - Keys

    public mutating func handle(_ key: Key, keyMap: KeyMap = .standard, workerRows: Int = 10, logRows: Int = 10) -> [Effect] {
        switch overlay {
        case .filterInput(let text)?:
            return editFilter(text, key)
        case .confirmKill(let worker, _)?:
            overlay = nil
            if key == .character("y") || key == .character("Y") {
                flash = "killed \(worker)"
                return [.control(.kill(worker: worker))]
            }
            flash = "kill cancelled"
            return []
        case .confirmQuit?:
            overlay = nil
            if key == .character("y") || key == .character("Y") {
                return embedded ? [.control(.stop(now: false)), .exit] : [.exit]
            }
            flash = nil
            return []
        case .help?:
            overlay = nil
            if keyMap.action(for: key) == .help { return [] }
        case nil:
            break
        }
        guard let action = keyMap.action(for: key) else { return [] }
        return perform(action, workerRows: workerRows, logRows: logRows)
    }

    private mutating func perform(_ action: Action, workerRows: Int, logRows: Int) -> [Effect] {
        let service = selectedService?.name
        switch action {
        case .scaleUp, .scaleDown:
            guard let service else { return [] }
            let delta = action == .scaleUp ? 1 : -1
            flash = "scale \(service) \(delta > 0 ? "+1" : "-1")"
            return [.control(.scale(.by(delta), service: service))]
        case .toggleMode:
            guard let current = selectedService else { return [] }
            let next: ExecutionMode = current.mode == .thread ? .cooperative : .thread
            flash = "\(current.name): \(next.rawValue) mode"
            return [.control(.mode(next, service: current.name))]
        case .reload:
            guard let service else { return [] }
            flash = "reloading \(service)"
            return [.control(.reload(service: service))]
        case .killWorker:
            if let worker = selectedWorker { overlay = .confirmKill(worker: worker.name, pid: worker.pid) }
            return []
        case .selectUp, .selectDown, .pageUp, .pageDown:
            let step = action == .selectUp || action == .selectDown ? 1 : (focus == .workers ? workerRows : logRows)
            let up = action == .selectUp || action == .pageUp
            move(up ? -step : step, workerRows: workerRows)
            return []
        case .focusNext:
            focus = focus == .workers ? .logs : .workers
            return []
        case .cycleSort:
            let index = Self.sortOrder.firstIndex(of: sort) ?? 0
            sort = Self.sortOrder[(index + 1) % Self.sortOrder.count]
            flash = "sorted by \(sort.rawValue)"
            return []
        case .filterLogs:
            overlay = .filterInput(filter.text)
            return []
        case .followLogs:
            logScroll = 0
            flash = "following the logs"
            return []
        case .pauseDisplay:
            paused.toggle()
            flash = paused ? "display paused (p resumes)" : nil
            return []
        case .cycleLayout:
            return [.nextLayout]
        case .help:
            overlay = .help
            return []
        case .toggleLoad:
            return [.setLoad(loadLevel.next)]
        case .quit:
            overlay = .confirmQuit
            return []
        case .quitNow:
            return embedded ? [.control(.stop(now: true)), .exit] : [.exit]
        case .detach:
            // Attached with `pulse top`, leaving is all a detach can mean.
            return embedded ? [.detach] : [.exit]
        }
    }

    private mutating func move(_ delta: Int, workerRows: Int) {
        switch focus {
        case .workers:
            let count = sortedWorkers.count
            guard count > 0 else { return }
            selected = min(max(0, selected + delta), count - 1)
            if selected < workerScroll { workerScroll = selected }
            if selected >= workerScroll + workerRows { workerScroll = selected - workerRows + 1 }
        case .logs:
            // Up scrolls back in time.
            logScroll = min(max(0, logScroll - delta), max(0, visibleLogs.count - 1))
        }
    }

    /// The first worker row to show so the selection stays visible in `rows` rows.
    public func workerScroll(rows: Int) -> Int {
        guard rows > 0 else { return 0 }
        if selected < workerScroll { return selected }
        if selected >= workerScroll + rows { return selected - rows + 1 }
        return workerScroll
    }

    private mutating func editFilter(_ text: String, _ key: Key) -> [Effect] {
        switch key {
        case .enter:
            filter = LogFilter(parsing: text)
            overlay = nil
            logScroll = 0
            flash = filter.isEmpty ? "showing every log line" : "filter: \(filter.text)"
        case .escape, .controlC:
            overlay = nil
        case .backspace:
            overlay = .filterInput(String(text.dropLast()))
        case .character(let character):
            overlay = .filterInput(text + String(character))
        default:
            break
        }
        return []
    }
}
