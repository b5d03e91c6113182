import PulseControl

/// A worker's inside view (Enter on a worker): what it serves now and for how
/// long, its figures and their history, its pools, its exits and its own log.
extension Renderer {
    /// Where the inside view goes: over the workers and logs panes, or all but
    /// the header and footer rows when the layout has neither.
    static func mainArea(_ frames: [(pane: Layout.Pane, rect: Rect)]) -> Rect {
        let body = frames.filter { $0.pane.pane == .workers || $0.pane.pane == .logs }.map(\.rect)
        if let top = body.map(\.y).min(), let bottom = body.map({ $0.y + $0.height }).max(),
           let left = body.map(\.x).min(), let right = body.map({ $0.x + $0.width }).max() {
            return Rect(x: left, y: top, width: right - left, height: bottom - top)
        }
        let all = frames.map(\.rect)
        let width = all.map { $0.x + $0.width }.max() ?? 0
        let height = all.map { $0.y + $0.height }.max() ?? 0
        return Rect(x: 0, y: min(1, height), width: width, height: max(0, height - 2))
    }

    func drawInspector(_ canvas: inout Canvas, over area: Rect, _ model: DashboardModel) {
        guard area.height > 0, let name = model.inspecting else { return }
        for y in area.y..<area.y + area.height {
            canvas.write(String(repeating: " ", count: area.width), x: area.x, y: y, clip: area)
        }
        canvas.paint(area, style: .normal)
        canvas.paint(Rect(x: area.x, y: area.y, width: area.width, height: 1), style: .selected)
        guard let worker = model.inspectedWorker else {
            canvas.write(" \(name) is gone: it exited or was scaled down (Esc closes)", x: area.x, y: area.y, style: .selected, clip: area)
            let exits = (model.shown?.services.flatMap(\.recentExits) ?? []).filter { $0.worker == name }
            drawExits(&canvas, exits, from: area.y + 2, in: area.dropping(top: 2))
            return
        }
        var y = area.y
        let title = " \(worker.name)  pid \(worker.pid)  \(worker.state.rawValue)  \(worker.mode ?? "-")  up \(Format.duration(worker.uptimeS))"
            + "  restarts \(worker.restarts)  cpu \(Format.rate(worker.cpuPercent))%  rss \(Format.bytes(worker.rssBytes))"
        canvas.write(title, x: area.x, y: y, style: .selected, clip: area)
        canvas.write("Esc closes ", x: area.x + area.width - 11, y: y, style: .selected, clip: area)
        y += 1
        let history = model.history
        // A column's seconds by their mean, but p99 by the worst: the tail is what it is for.
        for (label, values, now, worst) in [
            ("req/s", history.workerRPS[name] ?? [], Format.rate(worker.rps), false),
            ("p50  ", history.workerP50[name] ?? [], worker.latencyMs.map { Format.millis($0.p50) } ?? "-", false),
            ("p99  ", history.workerP99[name] ?? [], worker.latencyMs.map { Format.millis($0.p99) } ?? "-", true),
        ] {
            let x = canvas.write(" \(label) \(Cells.fit(now, 7, right: true)) ", x: area.x, y: y, style: .dim, clip: area)
            let width = area.x + area.width - x - 1
            canvas.write(sparkline(Self.buckets(values, count: width, worst: worst), width: width), x: x, y: y, style: .accent, clip: area)
            y += 1
        }
        var x = canvas.write(" latency ", x: area.x, y: y, style: .dim, clip: area)
        if let latency = worker.latencyMs {
            x = canvas.write("p50 \(Format.millis(latency.p50))  p90 \(Format.millis(latency.p90))  p99 \(Format.millis(latency.p99))  max \(Format.millis(latency.max))",
                             x: x, y: y, clip: area)
        } else {
            x = canvas.write("no requests yet", x: x, y: y, clip: area)
        }
        canvas.write("   loop lag \(Format.millis(worker.loopLagMs))   connections \(worker.connections)   requests \(worker.requests)",
                     x: x, y: y, style: .dim, clip: area)
        y += 1
        x = canvas.write(" threads ", x: area.x, y: y, style: .dim, clip: area)
        x = drawBar(&canvas, x: x, y: y, width: 12, busy: worker.threads?.busy ?? 0, size: worker.threads?.size ?? 0, clip: area)
        x = canvas.write(" \(worker.threads.map { "\($0.busy)/\($0.size)" } ?? "-")   green ", x: x, y: y, style: .dim, clip: area)
        x = drawBar(&canvas, x: x, y: y, width: 12, busy: worker.green?.busy ?? 0, size: worker.green?.size ?? 0, clip: area)
        x = canvas.write(" \(worker.green.map { "\($0.busy)/\($0.size)" } ?? "-")   queue ", x: x, y: y, style: .dim, clip: area)
        x = canvas.write("\(worker.queue ?? 0)", x: x, y: y, style: (worker.queue ?? 0) > 0 ? .warning : .normal, clip: area)
        x = canvas.write("   websockets \(worker.websockets ?? 0)", x: x, y: y, style: .dim, clip: area)
        if let database = worker.database {
            canvas.write("   database \(database.inUse)/\(database.size), \(database.waiting) waiting", x: x, y: y, style: .dim, clip: area)
        }
        y += 2
        // What it serves now, then its exits, then its own log.
        let rest = area.y + area.height - y
        let exits = (model.shown?.services.flatMap(\.recentExits) ?? []).filter { $0.worker == name }
        let listRows = max(2, min(rest / 2, model.inspectedInflight.count + 1))
        let inflightArea = Rect(x: area.x, y: y, width: area.width, height: listRows)
        canvas.write(" in flight now: \(model.inspectedInflight.count)", x: area.x, y: y, style: .heading, clip: inflightArea)
        for (offset, request) in model.inspectedInflight.prefix(listRows - 1).enumerated() {
            let time = Format.millis(request.seconds * 1000)
            let x = canvas.write("   " + Cells.fit(time, 7, right: true) + "  ", x: area.x, y: y + 1 + offset, style: .dim, clip: inflightArea)
            canvas.write(request.request, x: x, y: y + 1 + offset, style: request.seconds > 1 ? .warning : .normal, clip: inflightArea)
        }
        y += listRows
        let exitRows = min(exits.count + 1, max(1, (area.y + area.height - y) / 3))
        drawExits(&canvas, exits, from: y, in: Rect(x: area.x, y: y, width: area.width, height: exitRows))
        y += exitRows
        let own = model.logs.filter { $0.source == name }
        let logArea = Rect(x: area.x, y: y, width: area.width, height: area.y + area.height - y)
        canvas.write(" its log", x: area.x, y: y, style: .heading, clip: logArea)
        for (offset, entry) in own.suffix(max(0, logArea.height - 1)).enumerated() {
            let x = canvas.write("   \(Self.clock(entry.time)) \(Cells.fit(entry.level, 7)) ", x: area.x, y: y + 1 + offset,
                                 style: Self.style(ofLevel: entry.level), clip: logArea)
            canvas.write(entry.text, x: x, y: y + 1 + offset, clip: logArea)
        }
    }

    /// The exits of this worker's slot, newest first, with what each was serving.
    private func drawExits(_ canvas: inout Canvas, _ exits: [RecentExitStatus], from y: Int, in area: Rect) {
        canvas.write(" exits: \(exits.count)", x: area.x, y: y, style: .heading, clip: area)
        for (offset, exit) in exits.reversed().enumerated() {
            canvas.write(" \(unicode ? "✗" : "x") pid \(exit.pid), \(Format.duration(exit.ageS)) ago: \(exit.reason)\(Self.serving(exit))",
                         x: area.x, y: y + 1 + offset, style: exit.failure ? .bad : .dim, clip: area)
        }
    }
}
