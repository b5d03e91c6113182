import PulseControl
import Foundation

/// Draws a model into a canvas with a layout. Pure: the same inputs give the same frame.
public struct Renderer: Sendable {
    /// Block characters for sparklines and bars; ASCII when the locale is not UTF-8.
    public var unicode: Bool
    public var keyMap: KeyMap

    public init(unicode: Bool, keyMap: KeyMap = .standard) {
        self.unicode = unicode
        self.keyMap = keyMap
    }

    public func render(_ model: DashboardModel, layout: Layout, width: Int, height: Int) -> Canvas {
        var canvas = Canvas(width: width, height: height)
        guard width >= layout.minWidth, height >= layout.minHeight else {
            drawTooSmall(&canvas, layout: layout)
            return canvas
        }
        let frames = Self.frames(layout, width: width, height: height, model)
        for (pane, rect) in frames where rect.width > 0 && rect.height > 0 {
            switch pane.pane {
            case .header: drawHeader(&canvas, rect, model)
            case .totals: drawTotals(&canvas, rect, model)
            case .workers: drawWorkers(&canvas, rect, model, columns: pane.columns ?? WorkerColumn.allCases)
            case .logs: drawLogs(&canvas, rect, model)
            case .footer: drawFooter(&canvas, rect, model)
            }
        }
        if model.inspecting != nil { drawInspector(&canvas, over: Self.mainArea(frames), model) }
        if model.overlay == .help { drawHelp(&canvas) }
        return canvas
    }

    /// The layout's panes at this size, the workers pane no taller than its rows.
    static func frames(_ layout: Layout, width: Int, height: Int, _ model: DashboardModel) -> [(pane: Layout.Pane, rect: Rect)] {
        // Counted, not sorted: every worker of every service is a row.
        let workers = model.shown?.services.reduce(0) { $0 + $1.workers.count } ?? 0
        return layout.frames(width: width, height: height, content: [.workers: 1 + workers + recentExits(model).count])
    }

    /// The exits of the last minute, listed under the workers.
    static func recentExits(_ model: DashboardModel) -> [RecentExitStatus] {
        model.shown?.services.flatMap(\.recentExits).filter { $0.ageS < 60 } ?? []
    }

    /// How many worker and log rows the layout shows at this size (for paging).
    public static func rows(of layout: Layout, width: Int, height: Int, _ model: DashboardModel) -> (workers: Int, logs: Int) {
        var workers = 0, logs = 0
        for (pane, rect) in frames(layout, width: width, height: height, model) {
            if pane.pane == .workers { workers = max(workers, rect.height - 1) }
            if pane.pane == .logs { logs = max(logs, rect.height - 1) }
        }
        return (max(1, workers), max(1, logs))
    }

    // MARK: - Panes

    private func drawTooSmall(_ canvas: inout Canvas, layout: Layout) {
        let lines = [
            "Terminal too small: \(canvas.width)x\(canvas.height)",
            "layout '\(layout.name)' needs \(layout.minWidth)x\(layout.minHeight)",
            "enlarge the window, or press L",
        ]
        for (index, line) in lines.enumerated() {
            let x = max(0, (canvas.width - line.count) / 2)
            canvas.write(line, x: x, y: max(0, canvas.height / 2 - 1) + index, style: index == 0 ? .warning : .normal)
        }
    }

    private func drawHeader(_ canvas: inout Canvas, _ rect: Rect, _ model: DashboardModel) {
        canvas.paint(Rect(x: rect.x, y: rect.y, width: rect.width, height: 1), style: .title)
        guard let status = model.shown else {
            canvas.write(" pulse  connecting to the arbiter…", x: rect.x, y: rect.y, style: .title, clip: rect)
            return
        }
        var x = canvas.write(" pulse \(status.arbiter.version)", x: rect.x, y: rect.y, style: .title, clip: rect)
        x = model.sections.isEmpty
            ? canvas.write("  up \(Format.duration(status.arbiter.uptimeS))  pid \(status.arbiter.pid)  layout \(model.layoutName)",
                           x: x, y: rect.y, style: .title, clip: rect)
            : canvas.write("  \(model.sections.count) arbiters  layout \(model.layoutName)", x: x, y: rect.y, style: .title, clip: rect)
        if status.arbiter.state != "running" { x = canvas.write("  \(status.arbiter.state.uppercased())", x: x, y: rect.y, style: .title, clip: rect) }
        if model.paused { x = canvas.write("  PAUSED", x: x, y: rect.y, style: .title, clip: rect) }
        if let sample = model.cursorSample {
            let ago = Format.duration((model.history.samples.last?.time ?? sample.time) - sample.time)
            x = canvas.write("  AT \(Self.clock(sample.time)), \(ago) ago (End: now)", x: x, y: rect.y, style: .title, clip: rect)
        }
        if model.loadRunning {
            let label = model.shouldHintModeSwitch ? "  LOAD \(model.loadLevel.rawValue.uppercased()): requests queue for threads, press t"
                : "  LOAD \(model.loadLevel.rawValue.uppercased())"
            canvas.write(label, x: x, y: rect.y, style: .title, clip: rect)
        }
        if !model.sections.isEmpty {
            drawSections(&canvas, rect, model, status)
            return
        }
        // The services as the operator thinks of them: the app's first, then the
        // data store with its address and keyspace, then the database's pools.
        let services = status.services.filter { !$0.auxiliary } + status.services.filter(\.auxiliary)
        let database = Self.database(of: services.filter { !$0.auxiliary })
        let rows = rect.height - 1
        for (index, service) in services.prefix(max(0, rows)).enumerated() {
            let y = rect.y + 1 + index
            let end = service.auxiliary ? drawStore(&canvas, service, x: rect.x, y: y, clip: rect)
                : drawApp(&canvas, service, x: rect.x, y: y, clip: rect)
            // No line left for the database: it goes on the app's line.
            if index == 0, let database, services.count >= rows {
                canvas.write("  database \(database)", x: end, y: y, style: .accent, clip: rect)
            }
        }
        if let database, services.count < rows {
            let y = rect.y + 1 + services.count
            let x = canvas.write(" database", x: rect.x, y: y, style: .heading, clip: rect)
            canvas.write("  \(database)", x: x, y: y, style: .accent, clip: rect)
        }
    }

    /// `pulse top` watching several arbiters: a line each, its services on it; the
    /// last line says how many more there are when they do not all fit.
    private func drawSections(_ canvas: inout Canvas, _ rect: Rect, _ model: DashboardModel, _ status: StatusSnapshot) {
        let rows = rect.height - 1
        let shown = model.sections.count > rows ? rows - 1 : model.sections.count
        if shown < model.sections.count, rows > 0 {
            let hidden = model.sections.dropFirst(max(0, shown))
            let silent = hidden.filter { $0.arbiter == nil }.count
            canvas.write(" +\(hidden.count) more arbiters" + (silent > 0 ? ", \(silent) not answering" : ""),
                         x: rect.x, y: rect.y + rows, style: silent > 0 ? .bad : .dim, clip: rect)
        }
        for (index, section) in model.sections.prefix(max(0, shown)).enumerated() {
            let y = rect.y + 1 + index
            guard let arbiter = section.arbiter else {
                canvas.write(" \(index + 1)  not answering on \(section.control)", x: rect.x, y: y, style: .bad, clip: rect)
                continue
            }
            var x = canvas.write(" \(index + 1)  pid \(arbiter.pid)  up \(Format.duration(arbiter.uptimeS))", x: rect.x, y: y, style: .heading, clip: rect)
            if arbiter.state != "running" { x = canvas.write("  \(arbiter.state.uppercased())", x: x, y: y, style: .warning, clip: rect) }
            for service in status.services where ArbiterSet.split(service.name)?.index == index {
                x = canvas.write("  |", x: x, y: y, style: .dim, clip: rect)
                x = service.auxiliary ? drawStore(&canvas, service, x: x, y: y, clip: rect) : drawApp(&canvas, service, x: x, y: y, clip: rect)
            }
        }
    }

    private func drawApp(_ canvas: inout Canvas, _ service: ServiceStatus, x start: Int, y: Int, clip rect: Rect) -> Int {
        var x = canvas.write(" \(service.name)", x: start, y: y, style: .heading, clip: rect)
        x = canvas.write("  \(service.mode.rawValue)", x: x, y: y, style: .accent, clip: rect)
        x = canvas.write("  \(service.liveWorkers)/\(service.targetWorkers) workers", x: x, y: y, clip: rect)
        x = canvas.write("  \(service.state.rawValue)", x: x, y: y, style: Self.style(of: service.state), clip: rect)
        if let autoscale = service.autoscale {
            x = canvas.write("  autoscale \(autoscale.min)-\(autoscale.max)", x: x, y: y, style: .accent, clip: rect)
            // The latest decision and its reason, while it is fresh.
            if let decision = autoscale.lastDecision, (autoscale.lastDecisionAgeS ?? .infinity) < 60 {
                x = canvas.write(" (\(decision), \(Format.duration(autoscale.lastDecisionAgeS ?? 0)) ago)", x: x, y: y, style: .accent, clip: rect)
            }
        }
        if !service.dataStoreUnreachable.isEmpty { x = canvas.write("  DATA STORE DOWN", x: x, y: y, style: .bad, clip: rect) }
        return canvas.write("  \(service.binds.joined(separator: " "))", x: x, y: y, style: .dim, clip: rect)
    }

    private func drawStore(_ canvas: inout Canvas, _ service: ServiceStatus, x start: Int, y: Int, clip rect: Rect) -> Int {
        var x = canvas.write(" \(service.name)", x: start, y: y, style: .heading, clip: rect)
        x = canvas.write("  data store  \(service.binds.joined(separator: " "))", x: x, y: y, style: .dim, clip: rect)
        if let worker = service.workers.first, let store = worker.dataStore {
            x = canvas.write("  \(store.keys) keys  \(store.clients ?? worker.connections) clients  \(store.channels) channels  \(store.subscribers) subscribers",
                             x: x, y: y, style: .accent, clip: rect)
        }
        let state = service.liveWorkers == 0 ? "down" : service.state.rawValue
        return canvas.write("  \(state)", x: x, y: y, style: service.liveWorkers == 0 ? .bad : Self.style(of: service.state), clip: rect)
    }

    static func style(of state: ServiceState) -> Style {
        state == .running ? .good : state == .errored ? .bad : .warning
    }

    /// The app's PostgreSQL pools added up: `pool 3/20 in use, 0 waiting`.
    static func database(of services: [ServiceStatus]) -> String? {
        let pools = services.flatMap(\.workers).compactMap(\.database)
        guard !pools.isEmpty else { return nil }
        let (inUse, size, waiting) = pools.reduce((0, 0, 0)) { ($0.0 + $1.inUse, $0.1 + $1.size, $0.2 + $1.waiting) }
        return "pool \(inUse)/\(size) in use, \(waiting) waiting"
    }

    private func drawTotals(_ canvas: inout Canvas, _ rect: Rect, _ model: DashboardModel) {
        // The app's workers: the data store's process is not one of them.
        let workers = model.shown?.services.filter { !$0.auxiliary }.flatMap(\.workers) ?? []
        let rps = model.cursorSample?.rps ?? model.history.samples.last?.rps ?? 0
        let weighted = workers.reduce(0.0) { $0 + $1.rps }
        let p50 = weighted > 0 ? workers.reduce(0.0) { $0 + ($1.latencyMs?.p50 ?? 0) * $1.rps } / weighted
            : workers.compactMap { $0.latencyMs?.p50 }.max() ?? 0
        let p99 = workers.compactMap { $0.latencyMs?.p99 }.max() ?? 0
        var y = rect.y
        var x = canvas.write(" req/s ", x: rect.x, y: y, style: .dim, clip: rect)
        x = canvas.write(Format.rate(rps), x: x, y: y, style: .heading, clip: rect)
        x = canvas.write("   p50 ", x: x, y: y, style: .dim, clip: rect)
        x = canvas.write(Format.millis(p50), x: x, y: y, clip: rect)
        x = canvas.write("  p99 ", x: x, y: y, style: .dim, clip: rect)
        x = canvas.write(Format.millis(p99), x: x, y: y, style: p99 > 1000 ? .warning : .normal, clip: rect)
        x = canvas.write("   in flight ", x: x, y: y, style: .dim, clip: rect)
        x = canvas.write("\(workers.reduce(0) { $0 + $1.inflight })", x: x, y: y, clip: rect)
        x = canvas.write("   4xx/s ", x: x, y: y, style: .dim, clip: rect)
        x = canvas.write(Format.rate(model.errorRates.clientErrors), x: x, y: y, style: model.errorRates.clientErrors > 0 ? .warning : .normal, clip: rect)
        x = canvas.write("  5xx/s ", x: x, y: y, style: .dim, clip: rect)
        canvas.write(Format.rate(model.errorRates.serverErrors), x: x, y: y, style: model.errorRates.serverErrors > 0 ? .bad : .normal, clip: rect)

        y += 1
        if y < rect.y + rect.height { drawTimeline(&canvas, rect, model) }
        y += 1
        if y < rect.y + rect.height {
            let threads = workers.compactMap(\.threads).reduce((0, 0)) { ($0.0 + $1.busy, $0.1 + $1.size) }
            let green = workers.compactMap(\.green).reduce((0, 0)) { ($0.0 + $1.busy, $0.1 + $1.size) }
            let barWidth = max(4, min(24, (rect.width - 50) / 2))
            var x = canvas.write(" threads ", x: rect.x, y: y, style: .dim, clip: rect)
            x = drawBar(&canvas, x: x, y: y, width: barWidth, busy: threads.0, size: threads.1, clip: rect)
            x = canvas.write(" \(threads.0)/\(threads.1)   green ", x: x, y: y, style: .dim, clip: rect)
            x = drawBar(&canvas, x: x, y: y, width: barWidth, busy: green.0, size: green.1, clip: rect)
            canvas.write(" \(green.0)/\(green.1)", x: x, y: y, style: .dim, clip: rect)
        }
        y += 1
        if y < rect.y + rect.height {
            let queue = workers.reduce(0) { $0 + ($1.queue ?? 0) }
            let sockets = workers.reduce(0) { $0 + ($1.websockets ?? 0) }
            let rss = workers.reduce(0) { $0 + $1.rssBytes }
            var x = canvas.write(" queue ", x: rect.x, y: y, style: .dim, clip: rect)
            x = canvas.write("\(queue)", x: x, y: y, style: queue > 0 ? .warning : .normal, clip: rect)
            x = canvas.write("   websockets ", x: x, y: y, style: .dim, clip: rect)
            x = canvas.write("\(sockets)", x: x, y: y, clip: rect)
            x = canvas.write("   workers' rss ", x: x, y: y, style: .dim, clip: rect)
            x = canvas.write(Format.bytes(rss), x: x, y: y, clip: rect)
            x = canvas.write("   workers ", x: x, y: y, style: .dim, clip: rect)
            canvas.write("\(workers.count)", x: x, y: y, clip: rect)
        }
    }

    func drawBar(_ canvas: inout Canvas, x: Int, y: Int, width wanted: Int, busy: Int, size: Int, clip: Rect) -> Int {
        let width = max(0, wanted)
        let share = size > 0 ? min(1, max(0, Double(busy) / Double(size))) : 0
        let filled = Int((share * Double(width)).rounded(.up))
        let style: Style = size > 0 && busy >= size ? .bad : .barFilled
        var next = canvas.write(String(repeating: unicode ? "█" : "#", count: filled), x: x, y: y, style: style, clip: clip)
        next = canvas.write(String(repeating: unicode ? "░" : ".", count: width - filled), x: next, y: y, style: .barEmpty, clip: clip)
        return next
    }

    /// The last `width` samples, scaled to the largest.
    public func sparkline(_ values: [Double], width: Int) -> String {
        guard width > 0 else { return "" }
        let levels: [Character] = unicode ? ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] : ["_", ".", "-", "~", "=", "+", "*", "#"]
        let shown = values.suffix(width)
        let top = max(shown.max() ?? 0, 1)
        let line = shown.map { value -> Character in
            guard value > 0, value.isFinite, top.isFinite else { return " " }
            return levels[min(levels.count - 1, Int(value / top * Double(levels.count - 1)))]
        }
        return String(repeating: " ", count: width - shown.count) + String(line)
    }

    private func drawFooter(_ canvas: inout Canvas, _ rect: Rect, _ model: DashboardModel) {
        let y = rect.y + rect.height - 1
        canvas.paint(Rect(x: rect.x, y: y, width: rect.width, height: 1), style: .title)
        let prompt: String?
        switch model.overlay {
        case .filterInput(let text)?: prompt = " filter logs (words, @worker, >=level, status>=500, path=/db), Enter applies, Esc cancels: \(text)_"
        case .autoscaleInput(let service, let text)?: prompt = " autoscale \(service) between MIN:MAX workers, Enter applies, Esc cancels: \(text)_"
        case .searchInput(let text)?: prompt = " search the logs, Enter finds (n older, N newer), empty clears: \(text)_"
        case .killMenu(let worker, let pid)?: prompt = " signal \(worker) (pid \(pid)):  t TERM (drain)   q QUIT (at once)   k KILL   any other key cancels"
        case .confirmQuit?: prompt = model.embedded ? " stop the server (graceful drain)? y/n" : " leave the dashboard (the server keeps running)? y/n"
        default: prompt = nil
        }
        if let prompt {
            canvas.write(prompt, x: rect.x, y: y, style: .title, clip: rect)
            return
        }
        let hints = model.inspecting != nil ? " Esc or Enter closes the inside view  ↑↓ other worker  k signal  ? help"
            : " +/- scale  A autoscale  t mode  r reload  k kill  Enter inspect  ↑↓ select  Tab focus  / search  \\ filter  ←→ time  g load  ? help  q quit"
        let x = canvas.write(unicode ? hints : hints.replacingOccurrences(of: "↑↓", with: "up/down").replacingOccurrences(of: "←→", with: "left/right"), x: rect.x, y: y, style: .title, clip: rect)
        if let flash = model.flash {
            // Over the hints if need be: what just happened matters more than the key list.
            let start = max(rect.x + 1, min(x + 2, rect.x + rect.width - flash.count - 1))
            canvas.write(" \(flash) ", x: start - 1, y: y, style: .accent, clip: rect)
        }
    }

    private func drawHelp(_ canvas: inout Canvas) {
        let lines = ["Keys"] + keyMap.bindings.map { Cells.fit($0.label, 6) + $0.help } + ["", "any key closes this help"]
        let width = min(canvas.width - 2, (lines.map(\.count).max() ?? 0) + 4)
        let height = min(canvas.height - 2, lines.count + 2)
        let box = Rect(x: (canvas.width - width) / 2, y: (canvas.height - height) / 2, width: width, height: height)
        for y in box.y..<box.y + box.height {
            canvas.write(String(repeating: " ", count: box.width), x: box.x, y: y, style: .selected)
        }
        for (index, line) in lines.prefix(box.height - 2).enumerated() {
            canvas.write(line, x: box.x + 2, y: box.y + 1 + index, style: index == 0 ? .title : .selected,
                         clip: Rect(x: box.x + 1, y: box.y, width: box.width - 2, height: box.height))
        }
    }
}
