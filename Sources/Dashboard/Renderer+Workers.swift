import PulseControl

/// The workers table, and what the mouse finds on the screen.
extension Renderer {
    /// Which rows of the table show workers, under the heading: the rest lists recent exits.
    static func workerRows(_ rect: Rect, _ model: DashboardModel) -> (first: Int, rows: Int, exits: [RecentExitStatus]) {
        let workers = model.sortedWorkers.count
        let exits = recentExits(model)
        let rows = rect.height - 1
        let workerRows = max(0, rows - min(exits.count, max(0, rows - workers)))
        return (model.workerScroll(rows: workerRows), workerRows, exits)
    }

    func drawWorkers(_ canvas: inout Canvas, _ rect: Rect, _ model: DashboardModel, columns: [WorkerColumn]) {
        var x = rect.x + 1
        for column in columns {
            let title = column == model.sort ? column.title + (unicode ? "▾" : "v") : column.title
            canvas.write(Cells.fit(title, column.width, right: column.alignRight), x: x, y: rect.y, style: .heading, clip: rect)
            x += column.width + 1
        }
        let workers = model.sortedWorkers
        let (first, workerRows, exits) = Self.workerRows(rect, model)
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
                    if column.isTrend { style = .accent }
                }
                let text = column.isTrend ? trend(column, of: worker.name, model.history, width: column.width)
                    : Cells.fit(column.value(worker), column.width, right: column.alignRight)
                canvas.write(text, x: x, y: y, style: style, clip: rect)
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
            canvas.write(" \(unicode ? "✗" : "x") \(exit.worker) (pid \(exit.pid)) \(exit.reason)\(Self.serving(exit)), \(Format.duration(exit.ageS)) ago",
                         x: rect.x, y: y, style: exit.failure ? .bad : .dim, clip: rect)
            y += 1
        }
    }

    /// The longest request an exited worker was serving: what a hung worker was stuck on.
    static func serving(_ exit: RecentExitStatus) -> String {
        let inflight = exit.inflight ?? []
        return inflight.first.map { ", serving \($0)" + (inflight.count > 1 ? " +\(inflight.count - 1)" : "") } ?? ""
    }

    /// A worker's rps (mean) or p99 (worst) over its history, in `width` buckets.
    func trend(_ column: WorkerColumn, of worker: String, _ history: History, width: Int) -> String {
        let values = (column == .rpsTrend ? history.workerRPS[worker] : history.workerP99[worker]) ?? []
        return sparkline(Self.buckets(values, count: width, worst: column == .p99Trend), width: width)
    }

    /// `values` in at most `count` consecutive buckets, the newest bucket full.
    static func buckets(_ values: [Double], count: Int, worst: Bool) -> [Double] {
        guard count > 0, values.count > count else { return values }
        let size = bucketSize(values.count, into: count)
        var result: [Double] = []
        var end = values.count
        while end > 0, result.count < count {
            let slice = values[max(0, end - size)..<end]
            result.append(worst ? slice.max() ?? 0 : slice.reduce(0, +) / Double(slice.count))
            end -= size
        }
        return result.reversed()
    }

    /// How many values each of `buckets` holds: the fewest that fit them all in.
    static func bucketSize(_ count: Int, into buckets: Int) -> Int {
        buckets > 0 && count > buckets ? (count + buckets - 1) / buckets : 1
    }

    /// What is at a cell, for the mouse.
    public func hit(x: Int, y: Int, model: DashboardModel, layout: Layout, width: Int, height: Int) -> Hit? {
        guard model.inspecting == nil else { return nil }
        for (pane, rect) in Self.frames(layout, width: width, height: height, model)
        where x >= rect.x && x < rect.x + rect.width && y >= rect.y && y < rect.y + rect.height {
            switch pane.pane {
            case .workers:
                if y == rect.y {
                    var left = rect.x + 1
                    for column in pane.columns ?? WorkerColumn.allCases {
                        if x < left + column.width + 1 { return x >= left ? .columnHeader(column) : nil }
                        left += column.width + 1
                    }
                    return nil
                }
                let (first, rows, _) = Self.workerRows(rect, model)
                let offset = y - rect.y - 1
                let index = first + offset
                return offset < rows && index < model.sortedWorkers.count ? .workerRow(index) : nil
            case .logs:
                return .logs
            case .totals:
                let line = Self.timeline(rect, model)
                guard y == line.y, let held = line.samples(at: x - line.x) else { return nil }
                // The moment of the column's mark when it has one: the click is for its cause.
                let samples = model.history.samples
                return .timeline(held.last { !samples[$0].events.isEmpty } ?? held.upperBound - 1)
            case .header, .footer:
                return nil
            }
        }
        return nil
    }
}
