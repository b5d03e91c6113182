import Foundation
import Yams

/// A dashboard layout: rows of panes, top to bottom. Read from the YAML files in
/// `layouts/`; see `layouts/default.yaml` for a commented example.
public struct Layout: Codable, Equatable, Sendable {
    public var name: String
    public var description: String?
    /// Below this size the dashboard shows what it needs instead of the panes.
    public var minWidth: Int
    public var minHeight: Int
    public var rows: [Row]

    public struct Row: Codable, Equatable, Sendable {
        /// Lines (`5`), a share of the screen (`"40%"`), or `fill` (split the rest).
        public var height: Size
        public var panes: [Pane]
    }

    public struct Pane: Codable, Equatable, Sendable {
        public var pane: Kind
        /// Columns (`30`), a share (`"50%"`), or `fill` (default).
        public var width: Size?
        /// For `workers`: which columns, in order.
        public var columns: [WorkerColumn]?
    }

    public enum Kind: String, Codable, Sendable, CaseIterable {
        case header, totals, workers, logs, footer
    }

    public enum Size: Codable, Equatable, Sendable {
        case lines(Int)
        case percent(Int)
        case fill

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let lines = try? container.decode(Int.self) {
                guard lines > 0 else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "a size must be positive, got \(lines)") }
                self = .lines(lines)
                return
            }
            let text = try container.decode(String.self).trimmingCharacters(in: .whitespaces)
            if text == "fill" {
                self = .fill
            } else if text.hasSuffix("%"), let percent = Int(text.dropLast()), (1...100).contains(percent) {
                self = .percent(percent)
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a size: use a number of lines, a percentage such as \"40%\", or fill")
            }
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .lines(let lines): try container.encode(lines)
            case .percent(let percent): try container.encode("\(percent)%")
            case .fill: try container.encode("fill")
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, description, rows
        case minWidth = "min_width"
        case minHeight = "min_height"
    }

    /// Parses and checks a layout; errors name what is wrong.
    public static func parse(_ yaml: String, origin: String) throws -> Layout {
        let layout: Layout
        do {
            layout = try YAMLDecoder().decode(Layout.self, from: yaml)
        } catch let error as DecodingError {
            throw LayoutError(origin: origin, problem: Self.describe(error))
        } catch {
            throw LayoutError(origin: origin, problem: "\(error)")
        }
        guard !layout.rows.isEmpty else { throw LayoutError(origin: origin, problem: "it has no rows") }
        for (index, row) in layout.rows.enumerated() where row.panes.isEmpty {
            throw LayoutError(origin: origin, problem: "row \(index + 1) has no panes")
        }
        guard layout.minWidth > 0, layout.minHeight > 0 else {
            throw LayoutError(origin: origin, problem: "min_width and min_height must be positive")
        }
        return layout
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let text = context.codingPath.reduce("") { text, key in
                key.intValue.map { text + "[\($0 + 1)]" } ?? (text.isEmpty ? key.stringValue : text + "." + key.stringValue)
            }
            return text.isEmpty ? "" : " at \(text)"
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing '\(key.stringValue)'\(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "\(context.debugDescription)\(path(context))"
        case .dataCorrupted(let context): return "\(context.debugDescription)\(path(context))"
        @unknown default: return "\(error)"
        }
    }

    /// The rectangle of every pane on a screen of this size, in row order.
    ///
    /// `content`: the most lines a kind of pane has to show (the workers pane: its
    /// heading, the workers and the recent exits). A row sized as a share of the screen
    /// whose panes all need fewer lines takes only those, and the rest goes to the
    /// `fill` rows: three workers leave no empty band between the table and the logs.
    public func frames(width: Int, height: Int, content: [Kind: Int] = [:]) -> [(pane: Pane, rect: Rect)] {
        let sizes = rows.map { row -> Size in
            guard case .percent(let percent) = row.height else { return row.height }
            let needs = row.panes.map { content[$0.pane] }
            guard !needs.isEmpty, !needs.contains(nil) else { return row.height }
            let most = needs.compactMap { $0 }.max() ?? 0
            return most < height * percent / 100 ? .lines(max(0, most)) : row.height
        }
        let heights = Self.split(sizes, total: height)
        var result: [(Pane, Rect)] = []
        var y = 0
        for (row, rowHeight) in zip(rows, heights) {
            let widths = Self.split(row.panes.map { $0.width ?? .fill }, total: width)
            var x = 0
            for (pane, paneWidth) in zip(row.panes, widths) {
                result.append((pane, Rect(x: x, y: y, width: paneWidth, height: rowHeight)))
                x += paneWidth
            }
            y += rowHeight
        }
        return result
    }

    /// Shares `total` among sizes: fixed lines first, then percentages of the total,
    /// then what is left, evenly, to the `fill`s. Never more than `total`.
    static func split(_ sizes: [Size], total: Int) -> [Int] {
        var remaining = total
        var result = sizes.map { size -> Int in
            let wanted: Int
            switch size {
            case .lines(let lines): wanted = lines
            case .percent(let percent): wanted = total * percent / 100
            case .fill: return 0
            }
            let given = min(wanted, remaining)
            remaining -= given
            return given
        }
        let fills = sizes.indices.filter { sizes[$0] == .fill }
        for (order, index) in fills.enumerated() {
            let share = remaining / (fills.count - order)
            result[index] = share
            remaining -= share
        }
        return result
    }

    /// Used when no layout file can be found: the dashboard always has something to draw.
    public static let builtIn = Layout(
        name: "built-in", description: "fallback when no layouts/ folder is found", minWidth: 60, minHeight: 16,
        rows: [
            Row(height: .lines(2), panes: [Pane(pane: .header)]),
            Row(height: .lines(4), panes: [Pane(pane: .totals)]),
            Row(height: .percent(40), panes: [Pane(pane: .workers)]),
            Row(height: .fill, panes: [Pane(pane: .logs)]),
            Row(height: .lines(1), panes: [Pane(pane: .footer)]),
        ])
}

/// A layout file that could not be used, and why.
public struct LayoutError: Error, CustomStringConvertible, Sendable {
    public let origin: String
    public let problem: String
    public var description: String { "layout \(origin): \(problem)" }
}

/// Finds layouts: a path, or a name looked up in the layout folders.
public struct LayoutLibrary: Sendable {
    public let folders: [String]

    public init(folders: [String]) { self.folders = folders }

    /// `./layouts`, `$PULSE_LAYOUTS`, and the repository's `layouts/` next to a build.
    public static func standard(executable: String) -> LayoutLibrary {
        var folders: [String] = []
        if let custom = ProcessInfo.processInfo.environment["PULSE_LAYOUTS"] { folders.append(custom) }
        folders.append(FileManager.default.currentDirectoryPath + "/layouts")
        // .build/<triple>/<config>/pulse -> the package root
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        for _ in 0..<3 { url.deleteLastPathComponent() }
        folders.append(url.path + "/layouts")
        return LayoutLibrary(folders: folders)
    }

    /// Names of the layouts found, `default` first.
    public func names() -> [String] {
        var names: Set<String> = []
        for folder in folders {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for file in files where file.hasSuffix(".yaml") { names.insert(String(file.dropLast(5))) }
        }
        return names.sorted { ($0 == "default" ? 0 : 1, $0) < ($1 == "default" ? 0 : 1, $1) }
    }

    /// Loads a layout by name or path. A missing `default` falls back to the built-in one.
    public func load(_ nameOrPath: String) throws -> Layout {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") {
            guard let text = try? String(contentsOfFile: nameOrPath, encoding: .utf8) else {
                throw LayoutError(origin: nameOrPath, problem: "cannot read the file")
            }
            return try Layout.parse(text, origin: nameOrPath)
        }
        for folder in folders {
            let path = "\(folder)/\(nameOrPath).yaml"
            if let text = try? String(contentsOfFile: path, encoding: .utf8) { return try Layout.parse(text, origin: path) }
        }
        if nameOrPath == "default" { return .builtIn }
        throw LayoutError(origin: nameOrPath, problem: "no such layout in \(folders.joined(separator: ", "))")
    }
}
