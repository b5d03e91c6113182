/// What a cell means; the terminal backend decides how it looks (colours, or
/// bold and reverse on a monochrome terminal, or plain with NO_COLOR).
public enum Style: UInt8, Sendable, CaseIterable {
    case normal, dim, title, heading, selected, good, warning, bad, accent, barFilled, barEmpty
    case trace, debug, info, notice, logWarning, logError, critical
    /// A search match in the logs.
    case match
}

/// A rectangle of the screen, in cells.
public struct Rect: Equatable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    /// The rectangle without its first `lines` lines.
    public func dropping(top lines: Int) -> Rect {
        Rect(x: x, y: y + min(lines, height), width: width, height: height - min(lines, height))
    }
}

/// A grid of styled characters: what a frame of the dashboard is, before any
/// terminal sees it. Writes outside the grid are clipped, never wrapped.
public struct Canvas: Equatable, Sendable {
    public struct Cell: Equatable, Sendable {
        public var character: Character
        public var style: Style
    }

    public let width: Int
    public let height: Int
    public private(set) var cells: [[Cell]]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Array(repeating: Cell(character: " ", style: .normal), count: self.width), count: self.height)
    }

    /// Writes `text` from (x, y), clipped to `clip` and to the canvas; returns the column after it.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, style: Style = .normal, clip: Rect? = nil) -> Int {
        let bounds = clip ?? Rect(x: 0, y: 0, width: width, height: height)
        guard y >= bounds.y, y < bounds.y + bounds.height, y >= 0, y < height else { return x }
        var column = x
        for character in text {
            guard column < bounds.x + bounds.width, column < width else { break }
            if column >= bounds.x, column >= 0 {
                cells[y][column] = Cell(character: Self.printable(character), style: style)
            }
            column += 1
        }
        return column
    }

    /// Paints `rect` with `style`, keeping the characters.
    public mutating func paint(_ rect: Rect, style: Style) {
        for y in max(0, rect.y)..<min(height, rect.y + rect.height) {
            for x in max(0, rect.x)..<min(width, rect.x + rect.width) { cells[y][x].style = style }
        }
    }

    /// Control characters and tabs would move the terminal's cursor: never draw them.
    static func printable(_ character: Character) -> Character {
        guard let scalar = character.unicodeScalars.first, character.unicodeScalars.count == 1 else { return character }
        if scalar.value < 0x20 || scalar.value == 0x7F { return " " }
        return character
    }

    /// The canvas as plain text, one line per row, trailing spaces kept: what tests read.
    public var text: String {
        cells.map { String($0.map(\.character)) }.joined(separator: "\n")
    }

    /// One row as plain text without trailing spaces.
    public func line(_ y: Int) -> String {
        var text = String(cells[y].map(\.character))
        while text.last == " " { text.removeLast() }
        return text
    }
}

/// Text helpers for fixed-width columns.
enum Cells {
    static func fit(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard width > 0 else { return "" }
        if text.count > width { return width > 1 ? String(text.prefix(width - 1)) + "…" : String(text.prefix(width)) }
        let pad = String(repeating: " ", count: width - text.count)
        return right ? pad + text : text + pad
    }
}
