@preconcurrency import CNCurses
import Dashboard
import Foundation

/// The ncurses screen: the one place that talks to the terminal. It draws a
/// `Canvas` and reads keys; it decides nothing.
final class Terminal {
    private(set) var unicode: Bool
    private var attributes: [Style: Int32] = [:]

    /// Takes over the terminal: raw keys (Ctrl-C arrives as a key), no echo, no cursor.
    init(colors wanted: Bool) {
        setlocale(LC_ALL, "")
        unicode = String(cString: nl_langinfo(nl_item(CODESET))).uppercased().replacingOccurrences(of: "-", with: "") == "UTF8"
        initscr()
        raw()
        noecho()
        keypad(pulse_stdscr(), true)
        curs_set(0)
        set_escdelay(25)
        timeout(100)
        pulse_mouse_enable()
        let colors = wanted && has_colors()
        if colors {
            start_color()
            use_default_colors()
        }
        attributes = Self.attributes(colors: colors)
    }

    var width: Int { Int(getmaxx(pulse_stdscr())) }
    var height: Int { Int(getmaxy(pulse_stdscr())) }

    /// Gives the terminal back as it was.
    func close() {
        endwin()
    }

    /// The next key, or nil after 100 ms without one. A resize returns nil too:
    /// the next draw picks up the new size.
    func readKey() -> Key? {
        let code = getch()
        switch code {
        case ERR, KEY_RESIZE: return nil
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_MOUSE:
            var x: Int32 = 0, y: Int32 = 0
            switch pulse_mouse_read(&x, &y) {
            case 1: return .mouse(MouseEvent(x: Int(x), y: Int(y), button: .left))
            case 4: return .mouse(MouseEvent(x: Int(x), y: Int(y), button: .wheelUp))
            case 5: return .mouse(MouseEvent(x: Int(x), y: Int(y), button: .wheelDown))
            default: return nil
            }
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_BACKSPACE, 127, 8: return .backspace
        case KEY_ENTER, 10, 13: return .enter
        case 9: return .tab
        case 27: return .escape
        case 3: return .controlC
        default:
            guard code > 0, code < 0x110000, let scalar = Unicode.Scalar(UInt32(code)) else { return nil }
            return .character(Character(scalar))
        }
    }

    func draw(_ canvas: Canvas) {
        erase()
        for y in 0..<min(canvas.height, height) {
            var x = 0
            let row = canvas.cells[y]
            let limit = min(row.count, width) - (y == height - 1 ? 1 : 0)   // the last cell would scroll
            while x < limit {
                let style = row[x].style
                var run = ""
                var end = x
                while end < limit, row[end].style == style {
                    run.append(row[end].character)
                    end += 1
                }
                let attribute = attributes[style] ?? 0
                attron(attribute)
                mvaddstr(Int32(y), Int32(x), run)
                attroff(attribute)
                x = end
            }
        }
        refresh()
    }

    /// Colour pairs when the terminal has colours and NO_COLOR is unset; bold,
    /// dim and reverse otherwise, so a monochrome terminal still shows selection.
    private static func attributes(colors: Bool) -> [Style: Int32] {
        let bold = Int32(pulse_attr_bold()), dim = Int32(pulse_attr_dim()), reverse = Int32(pulse_attr_reverse())
        var result: [Style: Int32] = [.heading: bold, .dim: dim, .title: reverse, .selected: reverse, .bad: bold,
                                      .critical: bold | reverse, .logError: bold, .trace: dim, .debug: dim, .barEmpty: dim,
                                      .match: reverse | bold]
        guard colors else { return result }
        let palette: [(Style, Int16, Int16, Int32)] = [
            (.title, Int16(COLOR_BLACK), Int16(COLOR_CYAN), 0),
            (.selected, Int16(COLOR_BLACK), Int16(COLOR_WHITE), 0),
            (.good, Int16(COLOR_GREEN), -1, 0),
            (.warning, Int16(COLOR_YELLOW), -1, 0),
            (.bad, Int16(COLOR_RED), -1, bold),
            (.accent, Int16(COLOR_CYAN), -1, 0),
            (.barFilled, Int16(COLOR_GREEN), -1, 0),
            (.notice, Int16(COLOR_CYAN), -1, 0),
            (.logWarning, Int16(COLOR_YELLOW), -1, 0),
            (.logError, Int16(COLOR_RED), -1, 0),
            (.critical, Int16(COLOR_WHITE), Int16(COLOR_RED), bold),
            (.match, Int16(COLOR_BLACK), Int16(COLOR_YELLOW), bold),
        ]
        for (index, (style, foreground, background, extra)) in palette.enumerated() {
            let pair = Int16(index + 1)
            init_pair(pair, foreground, background)
            result[style] = Int32(pulse_color_pair(Int32(pair))) | extra
        }
        return result
    }
}
