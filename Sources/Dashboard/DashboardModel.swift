import PulseControl
import Foundation
import Mailbox

/// Everything the dashboard shows and remembers between frames: the last status,
/// the log tail, ten minutes of history, and what the operator selected.
///
/// Pure: keys come in, effects (control requests, local toggles) come out, and
/// `Renderer` draws it. No sockets, no terminal. The keys are in `DashboardModel+Keys`.
public struct DashboardModel: Sendable {
    public enum Focus: Sendable { case workers, logs }

    public enum Overlay: Equatable, Sendable {
        case help
        /// Which signal to send the worker, as htop's kill menu asks.
        case killMenu(worker: String, pid: Int32)
        case confirmQuit
        case filterInput(String)
        case searchInput(String)
        /// Bounds for autoscaling the service, `MIN:MAX`.
        case autoscaleInput(service: String, text: String)
    }

    /// What the driver must do for a key.
    public enum Effect: Equatable, Sendable {
        case control(ControlCommand)
        case setLoad(LoadLevel)
        case nextLayout
        /// Poll now: the view needs data it does not have yet (a worker's inside view).
        case refresh
        /// Write these lines (the log as the operator sees it) to a file, and say where.
        case writeLog([String])
        /// Leave the dashboard (the server keeps running unless a stop was sent).
        case exit
        /// Leave the arbiter's own dashboard and tell it the server is to run on
        /// headless, through a hang-up of its terminal too.
        case detach
    }

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

    /// The latest status; `shown` is what is drawn (an older one under the time cursor).
    public internal(set) var status: StatusSnapshot?
    public internal(set) var history = History()
    /// Log lines with their access fields, parsed once.
    var lines: [LogLine] = []
    public var lastLogSequence: Int { lines.last?.entry.seq ?? 0 }
    public internal(set) var errorRates = (clientErrors: 0.0, serverErrors: 0.0)
    private var previousClasses: (counts: [Int], at: Double)?

    public internal(set) var selected = 0
    var workerScroll = 0
    public internal(set) var sort: WorkerColumn = .id
    public internal(set) var focus: Focus = .workers
    /// Lines scrolled up from the tail; 0 follows it.
    public internal(set) var logScroll = 0
    public internal(set) var filter = LogFilter()
    /// The search term (lowercased) and the sequence number of the match the view is on.
    public internal(set) var search: String?
    public internal(set) var searchMatch: Int?
    public internal(set) var showAccessLines = true
    public internal(set) var wrapLogs = false
    public internal(set) var paused = false
    public internal(set) var overlay: Overlay?
    /// The worker whose inside view is open, and what it serves (polled while open).
    public internal(set) var inspecting: String?
    public internal(set) var inspectedInflight: [InflightRequest] = []
    /// The arbiters shown, when `pulse top` watches several (empty for one).
    public internal(set) var sections: [ArbiterSection] = []
    /// The sample the time cursor is on (an index into `history.samples`); nil is now.
    public internal(set) var cursor: Int?

    public internal(set) var loadLevel = LoadLevel.off
    public var loadRunning: Bool { loadLevel != .off }
    public internal(set) var flash: String?
    public var layoutName = "default"
    /// Embedded in the arbiter: quitting stops the server. Attached with `pulse top`: it does not.
    public let embedded: Bool

    static let logCapacity = 5000

    public init(embedded: Bool) { self.embedded = embedded }

    // MARK: - Data

    /// A new status arrived at `now` (seconds). Ignored while the display is paused.
    public mutating func update(status: StatusSnapshot, now: Double) {
        guard !paused else { return }
        let before = history.dropped
        history.record(status, at: now)
        if let cursor { self.cursor = max(0, cursor - (history.dropped - before)) }
        let workers = status.services.flatMap(\.workers)
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
        let fresh = entries.filter { $0.seq > lastLogSequence }.map(LogLine.init)
        lines.append(contentsOf: fresh)
        if lines.count > Self.logCapacity { lines.removeFirst(lines.count - Self.logCapacity) }
        if logScroll > 0 { logScroll += fresh.filter(isVisible).count }   // keep the view still
    }

    /// The arbiters behind a merged status (`ArbiterSet`), for the header.
    public mutating func setSections(_ sections: [ArbiterSection]) {
        self.sections = sections.count > 1 ? sections : []
    }

    /// What the worker whose inside view is open is serving now.
    public mutating func setInflight(_ requests: [InflightRequest], of worker: String) {
        guard worker == inspecting else { return }
        inspectedInflight = requests
    }

    public mutating func setLoadLevel(_ level: LoadLevel) { loadLevel = level }

    /// Under the saturating load in thread mode, with requests waiting for a thread:
    /// the moment to show what the other mode does.
    public var shouldHintModeSwitch: Bool {
        guard loadLevel == .saturating, let service = webService, service.mode == .thread else { return false }
        return service.workers.contains { ($0.queue ?? 0) > 0 }
    }
    public mutating func say(_ text: String?) { flash = text }

    // MARK: - Derived

    /// The status drawn: the latest, or the one under the time cursor.
    public var shown: StatusSnapshot? {
        guard let cursor, history.samples.indices.contains(cursor) else { return status }
        return history.samples[cursor].status
    }

    /// When the cursor is on a past moment: its sample.
    public var cursorSample: History.Sample? {
        guard let cursor, history.samples.indices.contains(cursor) else { return nil }
        return history.samples[cursor]
    }

    /// Workers of every service in the current sort order, those of auxiliary
    /// services (the data store) after the others; with several arbiters, each
    /// arbiter's workers together, in the arbiters' order.
    public var sortedWorkers: [WorkerStatus] {
        let workers = shown?.services.flatMap { service in
            let section = sections.isEmpty ? 0 : ArbiterSet.split(service.name)?.index ?? 0
            return service.workers.map { (section, service.auxiliary, $0) }
        } ?? []
        return workers.enumerated().sorted { a, b in
            if a.element.0 != b.element.0 { return a.element.0 < b.element.0 }
            if a.element.1 != b.element.1 { return !a.element.1 }
            let (ka, kb) = (sort.sortKey(a.element.2), sort.sortKey(b.element.2))
            return ka != kb ? ka < kb : a.offset < b.offset
        }.map(\.element.2)
    }

    public var selectedWorker: WorkerStatus? {
        let workers = sortedWorkers
        return workers.indices.contains(selected) ? workers[selected] : nil
    }

    /// The service of the selected worker, or the first one.
    public var selectedService: ServiceStatus? {
        guard let status = shown else { return nil }
        if let worker = selectedWorker, let service = status.services.first(where: { $0.workers.contains { $0.pid == worker.pid } }) {
            return service
        }
        return status.services.first
    }

    /// The service the load, `t` and `A` are for: the selected worker's, or, when that
    /// is the data store (no HTTP, no modes), the first web service of its arbiter.
    public var webService: ServiceStatus? {
        guard let service = selectedService, service.auxiliary else { return selectedService }
        let arbiter = ArbiterSet.split(service.name)?.index
        return shown?.services.first { !$0.auxiliary && ArbiterSet.split($0.name)?.index == arbiter }
    }

    /// The worker whose inside view is open, as the latest status shows it.
    public var inspectedWorker: WorkerStatus? {
        guard let inspecting else { return nil }
        return (shown ?? status)?.services.flatMap(\.workers).first { $0.name == inspecting }
    }

    public var logs: [LogEntry] { lines.map(\.entry) }

    /// The log lines the filter and the access toggle let through, oldest first.
    public var visibleLogs: [LogEntry] { visibleLines.map(\.entry) }

    var visibleLines: [LogLine] {
        filter.isEmpty && showAccessLines ? lines : lines.filter(isVisible)
    }

    private func isVisible(_ line: LogLine) -> Bool {
        (showAccessLines || line.access == nil) && filter.matches(line.entry, access: line.access)
    }

    mutating func clampSelection() {
        let count = sortedWorkers.count
        selected = count == 0 ? 0 : min(max(0, selected), count - 1)
    }

    /// The first worker row to show so the selection stays visible in `rows` rows.
    public func workerScroll(rows: Int) -> Int {
        guard rows > 0 else { return 0 }
        if selected < workerScroll { return selected }
        if selected >= workerScroll + rows { return selected - rows + 1 }
        return workerScroll
    }
}

/// A line of the merged log and, when it is an access line, what it says.
struct LogLine: Sendable {
    var entry: LogEntry
    var access: AccessFields?

    init(_ entry: LogEntry) {
        self.entry = entry
        // Access lines come from the workers: no need to parse the arbiter's own.
        access = entry.source == "arbiter" ? nil : AccessFields(parsing: entry.text)
    }
}
