import Foundation
import Mailbox
import PulseControl

/// The keys and the mouse: what each does to the model, and the effects it asks for.
extension DashboardModel {
    static let sortOrder: [WorkerColumn] = [.id, .rps, .p99, .cpu, .rss, .restarts, .uptime]

    public mutating func handle(_ key: Key, keyMap: KeyMap = .standard, workerRows: Int = 10, logRows: Int = 10) -> [Effect] {
        switch overlay {
        case .filterInput(let text)?:
            return edit(text, key) { model, text in
                model.overlay = .filterInput(text)
            } apply: { model, text in
                model.filter = LogFilter(parsing: text)
                model.logScroll = 0
                model.flash = model.filter.isEmpty ? "showing every log line" : "filter: \(model.filter.text)"
                return []
            }
        case .searchInput(let text)?:
            return edit(text, key) { model, text in
                model.overlay = .searchInput(text)
            } apply: { model, text in
                model.startSearch(text, logRows: logRows)
                return []
            }
        case .autoscaleInput(let service, let text)?:
            return edit(text, key) { model, text in
                model.overlay = .autoscaleInput(service: service, text: text)
            } apply: { model, text in
                guard let bounds = AutoscaleBounds(parsing: text.trimmingCharacters(in: .whitespaces)) else {
                    model.flash = "autoscale needs MIN:MAX with 1 <= MIN <= MAX, as in 1:4"
                    return []
                }
                model.flash = "autoscale \(service) \(bounds)"
                return [.control(.autoscale(bounds, service: service))]
            }
        case .killMenu(let worker, let pid)?:
            overlay = nil
            let choices: [Character: WorkerSignal] = ["t": .term, "T": .term, "q": .quit, "Q": .quit, "k": .kill, "K": .kill, "9": .kill]
            if case .character(let character) = key, let signal = choices[character] {
                flash = "SIG\(signal.rawValue) to \(worker) (pid \(pid))"
                return [.control(.kill(worker: worker, signal: signal))]
            }
            flash = "kill cancelled"
            return []
        case .confirmQuit?:
            overlay = nil
            if key == .character("y") || key == .character("Y") {
                return embedded ? [.control(.stop(now: false)), .exit] : [.exit]
            }
            flash = nil
            return []
        case .help?:
            overlay = nil
            if keyMap.action(for: key) == .help { return [] }
        case nil:
            break
        }
        if case .mouse = key { return [] }   // the driver resolves clicks with `handle(mouse:at:)`
        if inspecting != nil, key == .escape || key == .enter {
            inspecting = nil
            return []
        }
        guard let action = keyMap.action(for: key) else { return [] }
        let effects = perform(action, workerRows: workerRows, logRows: logRows)
        // In the inside view, up and down move it to the next worker.
        if inspecting != nil, action == .selectUp || action == .selectDown, let worker = selectedWorker, worker.name != inspecting {
            inspecting = worker.name
            inspectedInflight = []
            return effects + [.refresh]
        }
        return effects
    }

    private mutating func perform(_ action: Action, workerRows: Int, logRows: Int) -> [Effect] {
        // A key that acts acts on now: the status under the time cursor is the past (`t` would flip an old mode).
        let stillThere = action.acts ? leavePast() : true
        let service = selectedService?.name
        switch action {
        case .scaleUp, .scaleDown:
            guard let service else { return [] }
            let delta = action == .scaleUp ? 1 : -1
            flash = "scale \(service) \(delta > 0 ? "+1" : "-1")"
            return [.control(.scale(.by(delta), service: service))]
        case .toggleMode:
            guard let current = webService else { return [] }
            let next: ExecutionMode = current.mode == .thread ? .cooperative : .thread
            flash = "\(current.name): \(next.rawValue) mode"
            return [.control(.mode(next, service: current.name))]
        case .reload:
            guard let service else { return [] }
            flash = "reloading \(service)"
            return [.control(.reload(service: service))]
        case .killWorker:
            guard stillThere else {
                flash = "that worker is no longer running"
                return []
            }
            if let worker = selectedWorker { overlay = .killMenu(worker: worker.name, pid: worker.pid) }
            return []
        case .autoscale:
            guard let current = webService else { return [] }
            if current.autoscale != nil {
                flash = "autoscale \(current.name) off"
                return [.control(.autoscale(nil, service: current.name))]
            }
            overlay = .autoscaleInput(service: current.name, text: "1:\(max(4, current.targetWorkers * 2))")
            return []
        case .inspect:
            guard focus == .workers, let worker = selectedWorker else { return [] }
            inspecting = worker.name
            cursor = nil
            inspectedInflight = []
            return [.refresh]
        case .selectUp, .selectDown, .pageUp, .pageDown:
            let step = action == .selectUp || action == .selectDown ? 1 : (focus == .workers ? workerRows : logRows)
            let up = action == .selectUp || action == .pageUp
            move(up ? -step : step, workerRows: workerRows)
            return []
        case .focusNext:
            focus = focus == .workers ? .logs : .workers
            return []
        case .cycleSort:
            let index = Self.sortOrder.firstIndex(of: sort) ?? -1
            sort = Self.sortOrder[(index + 1) % Self.sortOrder.count]
            flash = "sorted by \(sort.rawValue)"
            return []
        case .filterLogs:
            overlay = .filterInput(filter.text)
            return []
        case .searchLogs:
            overlay = .searchInput("")
            return []
        case .nextMatch, .previousMatch:
            jumpToMatch(older: action == .nextMatch, logRows: logRows)
            return []
        case .toggleAccessLines:
            showAccessLines.toggle()
            logScroll = 0
            flash = showAccessLines ? "access lines shown" : "access lines hidden (a shows them)"
            return []
        case .toggleWrap:
            wrapLogs.toggle()
            flash = wrapLogs ? "long log lines wrap" : "long log lines are cut"
            return []
        case .writeLog:
            return [.writeLog(visibleLogs.map(Self.plain))]
        case .followLogs:
            logScroll = 0
            flash = "following the logs"
            return []
        case .timeBack, .timeForward:
            moveCursor(action == .timeBack ? -1 : 1)
            return []
        case .timeNow:
            cursor = nil
            flash = "live"
            return []
        case .pauseDisplay:
            paused.toggle()
            flash = paused ? "display paused (p resumes)" : nil
            return []
        case .cycleLayout:
            return [.nextLayout]
        case .help:
            overlay = .help
            return []
        case .toggleLoad:
            return [.setLoad(loadLevel.next)]
        case .quit:
            overlay = .confirmQuit
            return []
        case .quitNow:
            return embedded ? [.control(.stop(now: true)), .exit] : [.exit]
        case .detach:
            // Attached with `pulse top`, leaving is all a detach can mean.
            return embedded ? [.detach] : [.exit]
        }
    }

    /// A mouse event on what the renderer drew at that cell.
    public mutating func handle(mouse event: MouseEvent, at hit: Hit?) -> [Effect] {
        guard overlay == nil, let hit else { return [] }
        switch (event.button, hit) {
        case (.left, .workerRow(let index)):
            focus = .workers
            let again = index == selected
            selected = index
            clampSelection()
            // A second click on the selected worker opens its inside view, as Enter does.
            return again ? perform(.inspect, workerRows: 10, logRows: 10) : []
        case (.left, .columnHeader(let column)) where column.sortable:
            sort = column
            flash = "sorted by \(column.rawValue)"
            return []
        case (.left, .logs):
            focus = .logs
            return []
        case (.wheelUp, .logs), (.wheelDown, .logs):
            focus = .logs
            move(event.button == .wheelUp ? -3 : 3, workerRows: 10)
            return []
        case (.wheelUp, .workerRow), (.wheelDown, .workerRow), (.wheelUp, .columnHeader), (.wheelDown, .columnHeader):
            focus = .workers
            move(event.button == .wheelUp ? -1 : 1, workerRows: 10)
            return []
        case (.left, .timeline(let index)):
            cursor = index >= history.samples.count - 1 ? nil : max(0, index)
            sayCursor()
            return []
        default:
            return []
        }
    }

    mutating func move(_ delta: Int, workerRows: Int) {
        switch focus {
        case .workers:
            let count = sortedWorkers.count
            guard count > 0 else { return }
            selected = min(max(0, selected + delta), count - 1)
            if selected < workerScroll { workerScroll = selected }
            if selected >= workerScroll + workerRows { workerScroll = selected - workerRows + 1 }
        case .logs:
            // Up scrolls back in time.
            logScroll = min(max(0, logScroll - delta), max(0, visibleLines.count - 1))
        }
    }

    /// Back to the live status, on the same worker, or on another of its service when
    /// it has gone since; false when it has gone.
    private mutating func leavePast() -> Bool {
        guard cursor != nil else { return true }
        let (worker, service) = (selectedWorker?.name, selectedService?.name)
        cursor = nil
        let workers = sortedWorkers
        if let index = workers.firstIndex(where: { $0.name == worker }) {
            selected = index
            return true
        }
        let siblings = Set(status?.services.first { $0.name == service }?.workers.map(\.name) ?? [])
        if let index = workers.firstIndex(where: { siblings.contains($0.name) }) { selected = index }
        clampSelection()
        return false
    }

    private mutating func moveCursor(_ delta: Int) {
        let last = history.samples.count - 1
        guard last > 0 else { return }
        let next = (cursor ?? last) + delta
        cursor = next >= last ? nil : max(0, next)
        sayCursor()
    }

    /// How long ago the cursor's moment was, and what happened then.
    private mutating func sayCursor() {
        if let sample = cursorSample {
            let ago = Format.duration((history.samples.last?.time ?? sample.time) - sample.time)
            flash = "\(ago) ago" + (sample.events.isEmpty ? "" : ": " + sample.events.map(\.text).joined(separator: "; "))
        } else {
            flash = "live"
        }
    }

    // MARK: - Search

    /// Searches from the newest line back; the view moves to the match, nothing is hidden.
    private mutating func startSearch(_ text: String, logRows: Int) {
        let term = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !term.isEmpty else {
            search = nil
            searchMatch = nil
            flash = "search cleared"
            return
        }
        search = term
        searchMatch = nil
        jumpToMatch(older: true, logRows: logRows)
    }

    /// `n` goes to the next older match, `N` to the next newer one, wrapping around.
    private mutating func jumpToMatch(older: Bool, logRows: Int) {
        guard let term = search else {
            flash = "no search: press / first"
            return
        }
        let visible = visibleLines
        let matches = visible.indices.filter { LogSearch.ranges(of: term, in: visible[$0].entry.text).isEmpty == false }
        guard !matches.isEmpty else {
            searchMatch = nil
            flash = "no line matches '\(term)'"
            return
        }
        let current = searchMatch.flatMap { seq in visible.firstIndex { $0.entry.seq == seq } }
        guard let newest = matches.last, let oldest = matches.first else { return }
        let index = current.map { current in
            older ? (matches.last { $0 < current } ?? newest) : (matches.first { $0 > current } ?? oldest)
        } ?? newest
        searchMatch = visible[index].entry.seq
        focus = .logs
        // Put the match in the middle of the pane, or as low as the tail allows.
        logScroll = max(0, visible.count - 1 - index - logRows / 2)
        let position = matches.firstIndex(of: index).map { matches.count - $0 } ?? 1
        flash = "match \(position) of \(matches.count) for '\(term)' (n older, N newer)"
    }

    /// A log line as the file of `W` has it.
    static func plain(_ entry: LogEntry) -> String {
        let time = entry.time.isFinite && abs(entry.time) < 1e12 ? entry.time : 0
        return "\(LogTime.iso8601(Date(timeIntervalSince1970: time))) \(entry.source) \(entry.level) \(entry.text)"
    }

    // MARK: - Line editing

    /// The one line editor of the prompts: Enter applies, Esc cancels.
    private mutating func edit(_ text: String, _ key: Key, update: (inout DashboardModel, String) -> Void,
                               apply: (inout DashboardModel, String) -> [Effect]) -> [Effect] {
        switch key {
        case .enter:
            overlay = nil
            return apply(&self, text)
        case .escape, .controlC:
            overlay = nil
        case .backspace:
            update(&self, String(text.dropLast()))
        case .character(let character):
            update(&self, text + String(character))
        default:
            break
        }
        return []
    }
}

/// Case-insensitive matches of a search term in a line, as character offsets.
enum LogSearch {
    static func ranges(of term: String, in text: String) -> [Range<Int>] {
        // Per character: lowercasing may turn one character into several.
        let needle = term.map { $0.lowercased() }
        let haystack = text.map { $0.lowercased() }
        guard !needle.isEmpty, haystack.count >= needle.count else { return [] }
        var result: [Range<Int>] = []
        var start = 0
        while start + needle.count <= haystack.count {
            if haystack[start..<start + needle.count].elementsEqual(needle) {
                result.append(start..<start + needle.count)
                start += needle.count
            } else {
                start += 1
            }
        }
        return result
    }
}
