/// A key as the dashboard understands it, whatever the terminal sent.
public enum Key: Hashable, Sendable {
    case character(Character)
    case up, down, pageUp, pageDown, home, end, tab, enter, escape, backspace
    case controlC
}

/// What a key asks for.
public enum Action: String, Sendable, CaseIterable {
    case scaleUp, scaleDown, toggleMode, reload, killWorker
    case selectUp, selectDown, pageUp, pageDown, focusNext, cycleSort
    case filterLogs, followLogs, pauseDisplay, cycleLayout, help, toggleLoad, detach, quit, quitNow
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
        Binding(keys: [.character("t")], label: "t", action: .toggleMode, help: "toggle thread / cooperative mode"),
        Binding(keys: [.character("r")], label: "r", action: .reload, help: "rolling reload of the selected service"),
        Binding(keys: [.character("k")], label: "k", action: .killWorker, help: "kill the selected worker (asks first)"),
        Binding(keys: [.up, .character("K")], label: "↑", action: .selectUp, help: "select / scroll up"),
        Binding(keys: [.down, .character("J"), .character("j")], label: "↓", action: .selectDown, help: "select / scroll down"),
        Binding(keys: [.pageUp], label: "PgUp", action: .pageUp, help: "page up"),
        Binding(keys: [.pageDown], label: "PgDn", action: .pageDown, help: "page down"),
        Binding(keys: [.tab], label: "Tab", action: .focusNext, help: "move focus between workers and logs"),
        Binding(keys: [.character("s")], label: "s", action: .cycleSort, help: "change the workers' sort order"),
        Binding(keys: [.character("/")], label: "/", action: .filterLogs, help: "filter logs: words, @web.2, >=warning"),
        Binding(keys: [.character("f")], label: "f", action: .followLogs, help: "follow the log tail"),
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
