/// The totals' rps time line: the whole history kept, with what changed marked on it.
extension Renderer {
    /// Where the time line is and which samples each of its columns holds: all of
    /// them, `size` to a column as `buckets` groups them, the newest column full and
    /// the line against the right edge.
    struct Timeline {
        var x: Int
        var y: Int
        var width: Int
        var label: String
        /// Samples in the history, and in each column.
        var count: Int
        var size: Int

        /// The column (from `x`) a sample is drawn in.
        func column(of sample: Int) -> Int { width - 1 - (count - 1 - sample) / size }

        /// The samples of a column (from `x`); the blank columns before the oldest give the oldest.
        func samples(at column: Int) -> Range<Int>? {
            guard count > 0, column >= 0, column < width else { return nil }
            let fromNewest = min(width - 1 - column, (count - 1) / size)
            let end = count - fromNewest * size
            return max(0, end - size)..<end
        }
    }

    static func timeline(_ rect: Rect, _ model: DashboardModel) -> Timeline {
        let label = " req/s, last \(Format.duration(model.history.span)) "
        let x = rect.x + label.count
        let width = max(0, rect.x + rect.width - x - 1)
        let count = model.history.samples.count
        return Timeline(x: x, y: rect.y + 1, width: width, label: label, count: count, size: bucketSize(count, into: width))
    }

    func drawTimeline(_ canvas: inout Canvas, _ rect: Rect, _ model: DashboardModel) {
        let line = Self.timeline(rect, model)
        canvas.write(line.label, x: rect.x, y: line.y, style: .dim, clip: rect)
        guard line.width > 0 else { return }
        let samples = model.history.samples
        canvas.write(sparkline(Self.buckets(samples.map(\.rps), count: line.width, worst: false), width: line.width),
                     x: line.x, y: line.y, style: .accent, clip: rect)
        // Reloads, scalings, mode switches and exits in the column of their moment; of
        // several in one column the newest shows (the cursor, one sample a step, tells each).
        for (index, sample) in samples.enumerated() {
            guard let event = sample.events.last else { continue }
            canvas.write(String(event.mark), x: line.x + line.column(of: index), y: line.y, style: .warning, clip: rect)
        }
        if let cursor = model.cursor, samples.indices.contains(cursor) {
            canvas.paint(Rect(x: line.x + line.column(of: cursor), y: line.y, width: 1, height: 1), style: .selected)
        }
    }
}
