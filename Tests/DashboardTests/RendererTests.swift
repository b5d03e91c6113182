import PulseControl
import Dashboard
import Testing

@Suite struct RendererTests {
    let layout = try! LayoutLibrary(folders: [Fixtures.root + "/layouts"]).load("default")

    func model(_ status: StatusSnapshot = Fixtures.three, embedded: Bool = true) -> DashboardModel {
        var model = DashboardModel(embedded: embedded)
        model.update(status: status, now: 100)
        model.append(logs: Fixtures.logs([("arbiter", "info", "booting worker web.1"), ("web.2", "error", "GET /boom failed"),
                                          ("web.1", "warning", "slow request")]))
        return model
    }

    @Test func drawsEveryPaneOfAKnownSnapshot() {
        let canvas = Renderer(unicode: true).render(model(), layout: layout, width: 150, height: 40)
        let text = canvas.text
        #expect(canvas.line(0).hasPrefix(" pulse 0.1.0  up 1h02m  pid 4242  layout default"))
        #expect(canvas.line(1) == " web  thread  3/3 workers  running  127.0.0.1:8060")
        #expect(text.contains("req/s 60.0"))
        #expect(text.contains("p99 12ms"))
        #expect(text.contains("threads ") && text.contains(" 6/30"))
        for pid in ["101", "102", "103"] { #expect(text.contains(pid)) }
        let row = canvas.line(8)
        #expect(row.hasPrefix(" web.1") && row.contains("101") && row.contains("10.0") && row.contains("1/10"))
        #expect(text.contains("GET /boom failed"))
        #expect(canvas.line(39).hasPrefix(" +/- scale  A autoscale  t mode"))
    }

    @Test func nothingIsDrawnOutsideTheCanvas() {
        for (width, height) in [(150, 40), (100, 24), (101, 25), (3, 2), (0, 0)] {
            let canvas = Renderer(unicode: true).render(model(), layout: layout, width: width, height: height)
            #expect(canvas.cells.count == height)
            #expect(canvas.cells.allSatisfy { $0.count == width })
        }
    }

    @Test func aTinyTerminalSaysWhatItNeeds() {
        let canvas = Renderer(unicode: true).render(model(), layout: layout, width: 40, height: 10)
        #expect(canvas.text.contains("Terminal too small: 40x10"))
        #expect(canvas.text.contains("needs 100x24"))
    }

    @Test func sortingSelectionAndScrolling() {
        var model = model()
        #expect(model.sortedWorkers.map(\.pid) == [101, 102, 103])
        _ = model.handle(.character("s"))
        #expect(model.sort == .rps)
        #expect(model.sortedWorkers.map(\.pid) == [102, 103, 101])
        _ = model.handle(.down)
        _ = model.handle(.down)
        _ = model.handle(.down)
        #expect(model.selectedWorker?.pid == 101)
        let canvas = Renderer(unicode: true).render(model, layout: layout, width: 150, height: 40)
        #expect(canvas.cells[10].first?.style == .selected)
        #expect(canvas.line(7).contains("RPS▾"))
        // Only two rows for three workers: the selection stays visible.
        #expect(model.workerScroll(rows: 2) == 1)
    }

    @Test func keysBecomeTheControlRequestsOfPulseCtl() {
        var model = model()
        #expect(model.handle(.character("+")) == [.control(.scale(.by(1), service: "web"))])
        #expect(model.handle(.character("-")) == [.control(.scale(.by(-1), service: "web"))])
        #expect(model.handle(.character("t")) == [.control(.mode(.cooperative, service: "web"))])
        #expect(model.handle(.character("r")) == [.control(.reload(service: "web"))])
        #expect(model.handle(.character("k")).isEmpty)
        #expect(model.overlay == .killMenu(worker: "web.1", pid: 101))
        #expect(model.handle(.character("t")) == [.control(.kill(worker: "web.1", signal: .term))])
        _ = model.handle(.character("k"))
        #expect(model.handle(.character("q")) == [.control(.kill(worker: "web.1", signal: .quit))])
        _ = model.handle(.character("k"))
        #expect(model.handle(.character("k")) == [.control(.kill(worker: "web.1", signal: .kill))])
        _ = model.handle(.character("k"))
        #expect(model.handle(.character("x")).isEmpty && model.overlay == nil)
        #expect(model.handle(.character("g")) == [.setLoad(.light)])
        #expect(model.handle(.character("L")) == [.nextLayout])
        #expect(model.handle(.character("Q")) == [.control(.stop(now: true)), .exit])
    }

    @Test func anExitedWorkerShowsWhatItWasServing() {
        var status = Fixtures.three
        status.services[0].recentExits = [
            RecentExitStatus(worker: "web.4", pid: 104, reason: "killed after 30s without a heartbeat (timeout)", ageS: 3,
                             failure: true, inflight: ["GET /report?year=2026 (31.2s)", "GET /hello (0.1s)"]),
        ]
        let text = Renderer(unicode: true).render(model(status), layout: layout, width: 150, height: 40).text
        #expect(text.contains("web.4 (pid 104) killed after 30s without a heartbeat (timeout), serving GET /report?year=2026 (31.2s) +1, 3s ago"))
    }

    @Test func gCyclesTheLoadAndASaturatedThreadPoolHintsAtT() {
        var model = model()
        #expect(model.handle(.character("g")) == [.setLoad(.light)])
        model.setLoadLevel(.light)
        #expect(model.handle(.character("g")) == [.setLoad(.saturating)])
        model.setLoadLevel(.saturating)
        #expect(model.handle(.character("g")) == [.setLoad(.off)])
        // Saturating, thread mode, a queue: the header says what to press.
        var queued = Fixtures.three
        queued.services[0].workers[0].report.queue = 12
        model.update(status: queued, now: 101)
        #expect(model.shouldHintModeSwitch)
        let text = Renderer(unicode: true).render(model, layout: layout, width: 150, height: 40).text
        #expect(text.contains("LOAD SATURATING: requests queue for threads, press t"))
        // In cooperative mode, or with no queue, no hint.
        queued.services[0].mode = .cooperative
        model.update(status: queued, now: 102)
        #expect(!model.shouldHintModeSwitch)
    }

    @Test func theDataStoreIsListedAfterTheWebWorkersAndNotCountedAmongThem() throws {
        var model = model(Fixtures.withStore(Fixtures.three))
        #expect(model.sortedWorkers.map(\.name) == ["web.1", "web.2", "web.3", "ds.1"])
        let text = Renderer(unicode: true).render(model, layout: layout, width: 150, height: 40).text
        #expect(text.contains("workers 3"), "the totals count the web workers")
        _ = model.handle(.character("s"))   // by rps: still after the web workers
        #expect(model.sortedWorkers.last?.name == "ds.1")
    }

    @Test func detachingLeavesTheServerRunning() {
        var embedded = model(embedded: true)
        #expect(embedded.handle(.character("d")) == [.detach])
        var attached = model(embedded: false)
        #expect(attached.handle(.character("d")) == [.exit])
    }

    @Test func quittingStopsTheServerOnlyWhenEmbedded() {
        var embedded = model(embedded: true)
        #expect(embedded.handle(.character("q")).isEmpty)
        #expect(embedded.overlay == .confirmQuit)
        #expect(embedded.handle(.character("y")) == [.control(.stop(now: false)), .exit])
        var attached = model(embedded: false)
        _ = attached.handle(.controlC)
        #expect(attached.handle(.character("y")) == [.exit])
        var undecided = model()
        _ = undecided.handle(.character("q"))
        #expect(undecided.handle(.character("n")).isEmpty && undecided.overlay == nil)
    }

    @Test func logsFilterScrollAndFollow() {
        var model = model()
        for key in [Key.character("\\")] + "@web.2".map(Key.character) + [.enter] { _ = model.handle(key) }
        #expect(model.visibleLogs.map(\.text) == ["GET /boom failed"])
        for key in [Key.character("\\"), .backspace, .backspace, .backspace, .backspace, .backspace, .backspace]
            + ">=warning".map(Key.character) + [.enter] { _ = model.handle(key) }
        #expect(model.visibleLogs.map(\.source) == ["web.2", "web.1"])
        _ = model.handle(.tab)
        _ = model.handle(.up)
        #expect(model.logScroll == 1)
        model.append(logs: Fixtures.logs([("web.1", "error", "new line")], from: 4))
        #expect(model.logScroll == 2)          // the view stays where the operator left it
        _ = model.handle(.character("f"))
        #expect(model.logScroll == 0)
        let canvas = Renderer(unicode: true).render(model, layout: layout, width: 150, height: 40)
        #expect(canvas.text.contains("filter: >=warning"))
        #expect(!canvas.text.contains("booting worker web.1"))
    }

    @Test func pausingFreezesTheDisplay() {
        var model = model()
        _ = model.handle(.character("p"))
        model.update(status: Fixtures.status(workers: [Fixtures.worker(id: 1, pid: 999, rps: 1, p99: 1)]), now: 101)
        #expect(model.sortedWorkers.count == 3)
        _ = model.handle(.character("p"))
        model.update(status: Fixtures.status(workers: [Fixtures.worker(id: 1, pid: 999, rps: 1, p99: 1)]), now: 102)
        #expect(model.sortedWorkers.map(\.pid) == [999])
    }

    @Test func errorRatesAndRecentExitsAreShown() {
        var model = DashboardModel(embedded: true)
        model.update(status: Fixtures.three, now: 100)
        let later = Fixtures.status(
            workers: [Fixtures.worker(id: 1, pid: 101, rps: 10, p99: 9), Fixtures.worker(id: 2, pid: 102, rps: 30, p99: 3),
                      Fixtures.worker(id: 4, pid: 104, rps: 0, p99: 0, state: "booting")],
            exits: #"[{"worker": "web.3", "pid": 103, "reason": "killed by signal SIGKILL (9)", "age_s": 2, "failure": true}]"#)
        model.update(status: later, now: 102)
        #expect(model.errorRates.clientErrors == 5)   // 4xx went from 60 to 70 in 2 s
        let text = Renderer(unicode: true).render(model, layout: layout, width: 150, height: 40).text
        #expect(text.contains("web.3 (pid 103) killed by signal SIGKILL (9), 2s ago"))
        #expect(text.contains("booting"))
    }

    @Test func aStoreTheWorkersCannotReachIsFlaggedInTheHeader() {
        var model = DashboardModel(embedded: true)
        model.update(status: Fixtures.three, now: 100)
        let healthy = Renderer(unicode: true).render(model, layout: layout, width: 150, height: 40).text
        #expect(!healthy.contains("DATA STORE DOWN"))
        let reachable = Fixtures.worker(id: 1, pid: 101, rps: 1, p99: 1).replacingOccurrences(of: "}}", with: #"}, "data_store_reachable": true}"#)
        let down = Fixtures.worker(id: 2, pid: 102, rps: 1, p99: 1).replacingOccurrences(of: "}}", with: #"}, "data_store_reachable": false}"#)
        model.update(status: Fixtures.status(workers: [reachable, down]), now: 101)
        #expect(model.status?.services[0].dataStoreUnreachable == ["web.2"])
        let text = Renderer(unicode: true).render(model, layout: layout, width: 150, height: 40).text
        #expect(text.contains("DATA STORE DOWN"))
    }

    @Test func helpIsGeneratedFromTheKeyMap() {
        var model = model()
        _ = model.handle(.character("?"))
        let text = Renderer(unicode: true).render(model, layout: layout, width: 150, height: 40).text
        for binding in KeyMap.standard.bindings { #expect(text.contains(binding.help)) }
        _ = model.handle(.character("x"))
        #expect(model.overlay == nil)
    }

    @Test func asciiWhenTheLocaleIsNotUTF8() {
        var model = model()
        for rps in [1.0, 5, 10] {
            model.update(status: Fixtures.status(workers: [Fixtures.worker(id: 1, pid: 101, rps: rps, p99: 1)]), now: 100 + rps)
        }
        let ascii = Renderer(unicode: false)
        #expect(ascii.sparkline([0, 5, 10], width: 5) == "   .#" || ascii.sparkline([0, 5, 10], width: 5).allSatisfy(\.isASCII))
        let text = ascii.render(model, layout: layout, width: 150, height: 40).text
        #expect(text.allSatisfy { $0.isASCII })
        #expect(Renderer(unicode: true).render(model, layout: layout, width: 150, height: 40).text.contains("█"))
    }

    @Test func logFilterSyntax() {
        let filter = LogFilter(parsing: "Timeout @web.3 >=error")
        #expect(filter.words == ["timeout"] && filter.source == "web.3" && filter.minimumLevel == 5)
        let hit = LogEntry(seq: 1, time: 0, source: "web.3", level: "critical", text: "request timeout")
        #expect(filter.matches(hit))
        #expect(!filter.matches(LogEntry(seq: 2, time: 0, source: "web.3", level: "info", text: "request timeout")))
        #expect(!filter.matches(LogEntry(seq: 3, time: 0, source: "web.1", level: "error", text: "timeout")))
        #expect(LogFilter(parsing: "").isEmpty)
    }
}

@Suite struct FormatTests {
    @Test func shortFixedWidthNumbers() {
        #expect(Format.duration(59) == "59s")
        #expect(Format.duration(61) == "1m01s")
        #expect(Format.duration(3725) == "1h02m")
        #expect(Format.duration(90_000) == "1d01h")
        #expect(Format.bytes(512) == "512B")
        #expect(Format.bytes(3 * 1024 * 1024 / 2) == "1.5M")
        #expect(Format.bytes(300 << 20) == "300M")
        #expect(Format.rate(12.34) == "12.3" && Format.rate(1234) == "1234" && Format.rate(45_678) == "46k")
        #expect(Format.millis(0.25) == "0.2ms" || Format.millis(0.25) == "0.3ms")
        #expect(Format.millis(1500) == "1.5s")
    }
}
