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
        for (pane, rect) in layout.frames(width: width, height: height) where rect.width > 0 && rect.height > 0 {
            switch pane.pane {
            case .header: drawHeader(&canvas, rect, model)
            case .totals: drawTotals(&canvas, rect, model)
            case .workers: drawWorkers(&canvas, rect, model, columns: pane.columns ?? WorkerColumn.allCases)
            case .logs: drawLogs(&canvas, rect, model)
            case .footer: drawFooter(&canvas, rect, model)
            }
        }
        if model.overlay == .help { drawHelp(&canvas) }
        return canvas
    }

    /// How many worker and log rows the layout shows at this size (for paging).
    public static func rows(of layout: Layout, width: Int, height: Int) -> (workers: Int, logs: Int) {
        var workers = 0, logs = 0
        for (pane, rect) in layout.frames(width: width, height: height) {
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
        guard let status = model.status else {
            canvas.write(" pulse  connecting to the arbiter…", x: rect.x, y: rect.y, style: .title, clip: rect)
            return
        }
        var x = canvas.write(" pulse \(status.arbiter.version)", x: rect.x, y: rect.y, style: .title, clip: rect)
        x = canvas.write("  up \(Format.duration(status.arbiter.uptimeS))  pid \(status.arbiter.pid)  layout \(model.layoutName)",
                         x: x, y: rect.y, style: .title, clip: rect)
        if status.arbiter.state != "running" { x = canvas.write("  \(status.arbiter.state.uppercased())", x: x, y: rect.y, style: .title, clip: rect) }
        if model.paused { x = canvas.write("  PAUSED", x: x, y: rect.y, style: .title, clip: rect) }
        if model.loadRunning {
            let label = model.shouldHintModeSwitch ? "  LOAD \(model.loadLevel.rawValue.uppercased()): requests queue for threads, press t"
                : "  LOAD \(model.loadLevel.rawValue.uppercased())"
            canvas.write(label, x: x, y: rect.y, style: .title, clip: rect)
        }
        for (index, service) in status.services.enumerated() {
            let y = rect.y + 1 + index
            guard y < rect.y + rect.height else { break }
            var x = canvas.write(" \(service.name)", x: rect.x, y: y, style: .heading, clip: rect)
            if !service.auxiliary { x = canvas.write("  \(service.mode.rawValue)", x: x, y: y, style: .accent, clip: rect) }
            x = canvas.write("  \(service.liveWorkers)/\(service.targetWorkers) workers", x: x, y: y, clip: rect)
            let stateStyle: Style = service.state == .running ? .good : service.state == .errored ? .bad : .warning
            x = canvas.write("  \(service.state.rawValue)", x: x, y: y, style: stateStyle, clip: rect)
            if !service.dataStoreUnreachable.isEmpty { x = canvas.write("  DATA STORE DOWN", x: x, y: y, style: .bad, clip: rect) }
            x = canvas.write("  \(service.binds.joined(separator: " "))", x: x, y: y, style: .dim, clip: rect)
            if let store = service.workers.first?.dataStore {
                canvas.write("  data store: \(store.keys) keys, \(store.channels) channels, \(store.subscribers) subscribers",
                             x: x, y: y, style: .accent, clip: rect)
            }
        }
    }

    private func drawTotals(_ canvas: inout Canvas, _ rect: Rect, _ model: DashboardModel) {
        // The app's workers: the data store's process is not one of them.
        let workers = model.status?.services.filter { !$0.auxiliary }.flatMap(\.workers) ?? []
        let rps = model.rpsHistory.last ?? 0
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
        if y < rect.y + rect.height {
            let label = " req/s, last \(model.rpsHistory.count)s "
            let x = canvas.write(label, x: rect.x, y: y, style: .dim, clip: rect)
            canvas.write(sparkline(model.rpsHistory, width: rect.x + rect.width - x - 1), x: x, y: y, style: .accent, clip: rect)
        }
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

    private func drawBar(_ canvas: inout Canvas, x: Int, y: Int, width: Int, busy: Int, size: Int, clip: Rect) -> Int {
        let filled = size > 0 ? min(width, Int((Double(busy) / Double(size) * Double(width)).rounded(.up))) : 0
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
            value <= 0 ? (unicode ? " " : " ") : levels[min(levels.count - 1, Int(value / top * Double(levels.count - 1)))]
        }
        return String(repeating: " ", count: width - shown.count) + String(line)
    }

    private func drawWorkers(_ canvas: inout Canvas, _ rect: Rect, _ model: DashboardModel, columns: [WorkerColumn]) {
        var x = rect.x + 1
        for column in columns {
            let title = column == model.sort ? column.title + (unicode ? "▾" : "v") : column.title
            canvas.write(Cells.fit(title, column.width, right: column.alignRight), x: x, y: rect.y, style: .heading, clip: rect)
            x += column.width + 1
        }
        let workers = model.sortedWorkers
        let exits = model.status?.services.flatMap(\.recentExits).filter { $0.ageS < 60 } ?? []
        let rows = rect.height - 1
        let workerRows = max(0, rows - min(exits.count, max(0, rows - workers.count)))
        let first = model.workerScroll(rows: workerRows)
        for (offset, worker) in workers.dropFirst(first).prefix(workerRows).enumerated() {
            let y = rect.y + 1 + offset
            let isSelected = first + offset == model.selected
            let base: Style = isSelected ? (model.focus == .workers ? .selected : .accent) : worker.state == .draining ? .warning : .normal
            if isSelected { canvas.paint(Rect(x: rect.x, y: y, width: rect.width, height: 1), style: base) }
            var x = rect.x + 1
            for column in columns {
                var style = base
                if !isSelected {
                    if column == .state { style = worker.state == .ready ? .good : .warning }
                    if column == .restarts, worker.restarts > 0 { style = .warning }
                }
                canvas.write(Cells.fit(column.value(worker), column.width, right: column.alignRight), x: x, y: y, style: style, clip: rect)
                x += column.width + 1
            }
        }
        if workers.count > workerRows {
            canvas.write(" \(first + 1)-\(min(workers.count, first + workerRows)) of \(workers.count) ", x: rect.x + rect.width - 14,
                         y: rect.y, style: .dim, clip: rect)
        }
        // Workers that just ended, with their reason, under the live ones.
        var y = rect.y + 1 + min(workers.count, workerRows)
        for exit in exits.suffix(max(0, rect.y + rect.height - y)).reversed() {
            let mark = unicode ? "✗" : "x"
            // The longest request it was serving: what a hung worker was stuck on.
            let inflight = exit.inflight ?? []
            let serving = inflight.first.map { ", serving \($0)" + (inflight.count > 1 ? " +\(inflight.count - 1)" : "") } ?? ""
            canvas.write(" \(mark) \(exit.worker) (pid \(exit.pid)) \(exit.reason)\(serving), \(Format.duration(exit.ageS)) ago",
                         x: rect.x, y: y, style: exit.failure ? .bad : .dim, clip: rect)
            y += 1
        }
    }

    private func drawLogs(_ canvas: inout Canvas, _ rect: Rect, _ model: DashboardModel) {
        let lines = model.visibleLogs
        let rows = rect.height - 1
        let end = max(0, lines.count - model.logScroll)
        let start = max(0, end - rows)
        var title = " logs"
        if !model.filter.isEmpty { title += "  filter: \(model.filter.text)" }
        title += model.logScroll == 0 ? "  following" : "  scrolled back \(model.logScroll) lines (f follows)"
        canvas.paint(Rect(x: rect.x, y: rect.y, width: rect.width, height: 1), style: model.focus == .logs ? .selected : .heading)
        canvas.write(title, x: rect.x, y: rect.y, style: model.focus == .logs ? .selected : .heading, clip: rect)
        for (offset, entry) in lines[start..<end].enumerated() {
            let y = rect.y + 1 + offset
            var x = canvas.write(" \(Self.clock(entry.time)) ", x: rect.x, y: y, style: .dim, clip: rect)
            x = canvas.write(Cells.fit(entry.source, 8) + " ", x: x, y: y, style: .accent, clip: rect)
            let style = Self.style(ofLevel: entry.level)
            x = canvas.write(Cells.fit(entry.level, 7) + " ", x: x, y: y, style: style, clip: rect)
            canvas.write(entry.text, x: x, y: y, style: style == .info ? .normal : style, clip: rect)
        }
    }

    static func style(ofLevel level: String) -> Style {
        switch level {
        case "trace": .trace
        case "debug": .debug
        case "notice": .notice
        case "warning": .logWarning
        case "error": .logError
        case "critical": .critical
        default: .info
        }
    }

    static func clock(_ time: Double) -> String {
        var seconds = time_t(time)
        var parts = tm()
        localtime_r(&seconds, &parts)
        return String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    private func drawFooter(_ canvas: inout Canvas, _ rect: Rect, _ model: DashboardModel) {
        let y = rect.y + rect.height - 1
        canvas.paint(Rect(x: rect.x, y: y, width: rect.width, height: 1), style: .title)
        let prompt: String?
        switch model.overlay {
        case .filterInput(let text)?: prompt = " filter logs (words, @worker, >=level), Enter applies, Esc cancels: \(text)_"
        case .confirmKill(let worker, let pid)?: prompt = " kill \(worker) (pid \(pid)) with SIGKILL? y/n"
        case .confirmQuit?: prompt = model.embedded ? " stop the server (graceful drain)? y/n" : " leave the dashboard (the server keeps running)? y/n"
        default: prompt = nil
        }
        if let prompt {
            canvas.write(prompt, x: rect.x, y: y, style: .title, clip: rect)
            return
        }
        let hints = " +/- scale  t mode  r reload  k kill  ↑↓ select  Tab focus  s sort  / filter  f follow  p pause  L layout  g load  ? help  q quit"
        let x = canvas.write(unicode ? hints : hints.replacingOccurrences(of: "↑↓", with: "up/down"), x: rect.x, y: y, style: .title, clip: rect)
        if let flash = model.flash {
            let start = max(x + 2, rect.x + rect.width - flash.count - 1)
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
