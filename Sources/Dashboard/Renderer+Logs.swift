import Foundation
import PulseControl

/// The log pane: the merged log as the filter, the access toggle and the search
/// leave it, cut or wrapped, with the search's matches highlighted.
extension Renderer {
    /// One row of the pane: an entry's prefix (first row only) and a piece of its text.
    struct LogRow {
        var entry: LogEntry
        var first: Bool
        /// Character offsets of the piece in the entry's text.
        var range: Range<Int>
    }

    static let logPrefixWidth = 10 + 9 + 8   // " 12:00:01 " + source + level

    func drawLogs(_ canvas: inout Canvas, _ rect: Rect, _ model: DashboardModel) {
        let lines = model.visibleLogs
        var title = " logs"
        if !model.filter.isEmpty { title += "  filter: \(model.filter.text)" }
        if let search = model.search { title += "  search: \(search)" }
        if !model.showAccessLines { title += "  access lines hidden" }
        if model.wrapLogs { title += "  wrapped" }
        title += model.logScroll == 0 ? "  following" : "  scrolled back \(model.logScroll) lines (f follows)"
        let titleStyle: Style = model.focus == .logs ? .selected : .heading
        canvas.paint(Rect(x: rect.x, y: rect.y, width: rect.width, height: 1), style: titleStyle)
        canvas.write(title, x: rect.x, y: rect.y, style: titleStyle, clip: rect)
        let rows = Self.logRows(lines, end: max(0, lines.count - model.logScroll), rows: rect.height - 1,
                                textWidth: model.wrapLogs ? rect.width - Self.logPrefixWidth : nil)
        for (offset, row) in rows.enumerated() {
            let y = rect.y + 1 + offset
            let entry = row.entry
            let style = Self.style(ofLevel: entry.level)
            var x = rect.x + Self.logPrefixWidth
            if row.first {
                let current = model.searchMatch == entry.seq
                x = canvas.write(current ? (unicode ? "▶" : ">") : " ", x: rect.x, y: y, style: current ? .match : .dim, clip: rect)
                x = canvas.write("\(Self.clock(entry.time)) ", x: x, y: y, style: .dim, clip: rect)
                x = canvas.write(Cells.fit(entry.source, 8) + " ", x: x, y: y, style: .accent, clip: rect)
                x = canvas.write(Cells.fit(entry.level, 7) + " ", x: x, y: y, style: style, clip: rect)
            }
            let characters = Array(entry.text)
            let piece = characters[min(row.range.lowerBound, characters.count)..<min(row.range.upperBound, characters.count)]
            let matches = model.search.map { LogSearch.ranges(of: $0, in: entry.text) } ?? []
            write(piece, from: row.range.lowerBound, matches: matches, x: x, y: y, style: style == .info ? .normal : style,
                  canvas: &canvas, clip: rect)
        }
    }

    /// The rows that end at entry `end` (exclusive), filling `rows` from the bottom.
    /// With a `textWidth`, a long entry takes several rows; without, it is cut.
    static func logRows(_ lines: [LogEntry], end: Int, rows: Int, textWidth: Int?) -> [LogRow] {
        guard rows > 0 else { return [] }
        var result: [LogRow] = []
        var index = end - 1
        while index >= 0, result.count < rows {
            let entry = lines[index]
            let count = entry.text.count
            var pieces: [LogRow] = []
            if let width = textWidth, width > 0, count > width {
                var start = 0
                while start < count {
                    pieces.append(LogRow(entry: entry, first: start == 0, range: start..<min(count, start + width)))
                    start += width
                }
            } else {
                pieces = [LogRow(entry: entry, first: true, range: 0..<count)]
            }
            result.insert(contentsOf: pieces, at: 0)
            index -= 1
        }
        // The oldest entry may not fit whole: keep its last rows.
        return Array(result.suffix(rows))
    }

    /// Writes a piece of a line, the parts inside `matches` highlighted.
    private func write(_ piece: ArraySlice<Character>, from start: Int, matches: [Range<Int>], x: Int, y: Int, style: Style,
                       canvas: inout Canvas, clip: Rect) {
        var column = x
        var run = ""
        var runStyle = style
        for (offset, character) in piece.enumerated() {
            let position = start + offset
            let cellStyle = matches.contains { $0.contains(position) } ? Style.match : style
            if cellStyle != runStyle, !run.isEmpty {
                column = canvas.write(run, x: column, y: y, style: runStyle, clip: clip)
                run = ""
            }
            runStyle = cellStyle
            run.append(character)
        }
        if !run.isEmpty { canvas.write(run, x: column, y: y, style: runStyle, clip: clip) }
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
        var seconds = time.isFinite && abs(time) < 1e15 ? time_t(time) : 0
        var parts = tm()
        localtime_r(&seconds, &parts)
        return String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}
