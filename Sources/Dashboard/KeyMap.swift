/// A key as the dashboard understands it, whatever the terminal sent.
public enum Key: Hashable, Sendable {
    case character(Character)
    case up, down, left, right, pageUp, pageDown, home, end, tab, enter, escape, backspace
    case controlC
    case mouse(MouseEvent)
}

/// A click or a turn of the wheel at a cell of the screen.
public struct MouseEvent: Hashable, Sendable {
    public enum Button: Hashable, Sendable { case left, wheelUp, wheelDown }
    public var x: Int
    public var y: Int
    public var button: Button

    public init(x: Int, y: Int, button: Button) {
        self.x = x
        self.y = y
        self.button = button
    }
}

/// What is drawn at a cell, for the mouse: `Renderer.hit` finds it.
public enum Hit: Equatable, Sendable {
    /// A row of the workers table, by its index in `sortedWorkers`.
    case workerRow(Int)
    case columnHeader(WorkerColumn)
    case logs
    /// A sample of the rps time line, by its index in `history.samples`.
    case timeline(Int)
}

/// What a key asks for.
public enum Action: String, Sendable, CaseIterable {
    case scaleUp, scaleDown, autoscale, toggleMode, reload, killWorker, inspect
    case selectUp, selectDown, pageUp, pageDown, focusNext, cycleSort
    case filterLogs, searchLogs, nextMatch, previousMatch, toggleAccessLines, toggleWrap, writeLog, followLogs
    case timeBack, timeForward, timeNow
    case pauseDisplay, cycleLayout, help, toggleLoad, detach, quit, quitNow

    /// Changes the server or loads it: done on the live status, never on the past one at the time cursor.
    var acts: Bool { [.scaleUp, .scaleDown, .autoscale, .toggleMode, .reload, .killWorker, .toggleLoad].contains(self) }
}

/// Which key does what: the single source of the key handling and of the help overlay.
public struct KeyMap: Sendable {
    public struct Binding: Sendable {
        public let keys: [Key]
        public let label: String
        public let action: Action
        public let help: String
    }

    public let bindings: [Binding]

    public static let standard = KeyMap(bindings: [
        Binding(keys: [.character("+"), .character("=")], label: "+", action: .scaleUp, help: "add a worker to the selected service"),
        Binding(keys: [.character("-"), .character("_")], label: "-", action: .scaleDown, help: "remove a worker (drained, never below 1)"),
        Binding(keys: [.character("A")], label: "A", action: .autoscale, help: "autoscale the selected service between MIN:MAX workers (A again: off)"),
        Binding(keys: [.character("t")], label: "t", action: .toggleMode, help: "toggle thread / cooperative mode"),
        Binding(keys: [.character("r")], label: "r", action: .reload, help: "rolling reload of the selected service"),
        Binding(keys: [.character("k")], label: "k", action: .killWorker, help: "signal the selected worker: TERM, QUIT or KILL"),
        Binding(keys: [.enter], label: "Enter", action: .inspect, help: "the selected worker's inside view (Esc closes)"),
        Binding(keys: [.up, .character("K")], label: "↑", action: .selectUp, help: "select / scroll up"),
        Binding(keys: [.down, .character("J"), .character("j")], label: "↓", action: .selectDown, help: "select / scroll down"),
        Binding(keys: [.pageUp], label: "PgUp", action: .pageUp, help: "page up"),
        Binding(keys: [.pageDown], label: "PgDn", action: .pageDown, help: "page down"),
        Binding(keys: [.tab], label: "Tab", action: .focusNext, help: "move focus between workers and logs"),
        Binding(keys: [.character("s")], label: "s", action: .cycleSort, help: "change the workers' sort order"),
        Binding(keys: [.character("/")], label: "/", action: .searchLogs, help: "search the logs (matches highlighted, nothing hidden)"),
        Binding(keys: [.character("n")], label: "n", action: .nextMatch, help: "next older match"),
        Binding(keys: [.character("N")], label: "N", action: .previousMatch, help: "next newer match"),
        Binding(keys: [.character("\\")], label: "\\", action: .filterLogs, help: "filter logs: words, @web.2, >=warning, status>=500, path=/db"),
        Binding(keys: [.character("a")], label: "a", action: .toggleAccessLines, help: "show / hide access lines"),
        Binding(keys: [.character("w")], label: "w", action: .toggleWrap, help: "wrap / cut long log lines"),
        Binding(keys: [.character("W")], label: "W", action: .writeLog, help: "write the log as shown to a file"),
        Binding(keys: [.character("f")], label: "f", action: .followLogs, help: "follow the log tail"),
        Binding(keys: [.left], label: "←", action: .timeBack, help: "move back in time (the workers as they were)"),
        Binding(keys: [.right], label: "→", action: .timeForward, help: "move forward in time"),
        Binding(keys: [.end], label: "End", action: .timeNow, help: "back to now"),
        Binding(keys: [.character("p")], label: "p", action: .pauseDisplay, help: "pause / resume the display"),
        Binding(keys: [.character("L")], label: "L", action: .cycleLayout, help: "next layout"),
        Binding(keys: [.character("g")], label: "g", action: .toggleLoad, help: "built-in load: off, light, saturating (fills the thread pools)"),
        Binding(keys: [.character("?"), .character("h")], label: "?", action: .help, help: "this help"),
        Binding(keys: [.character("d")], label: "d", action: .detach, help: "detach: leave the server running headless (pulse top attaches again)"),
        Binding(keys: [.character("q"), .controlC], label: "q", action: .quit, help: "quit (asks first)"),
        Binding(keys: [.character("Q")], label: "Q", action: .quitNow, help: "quit at once"),
    ])

    public func action(for key: Key) -> Action? {
        bindings.first { $0.keys.contains(key) }?.action
    }
}
