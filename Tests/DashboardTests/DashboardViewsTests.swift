import PulseControl
@testable import Dashboard
import Mailbox
import Testing

/// The views added for issue 14: a worker's inside view, log search, access lines,
/// wrapping, history with a time cursor, the mouse, and the services in the header.
@Suite struct DashboardViewsTests {
    let layout = try! LayoutLibrary(folders: [Fixtures.root + "/layouts"]).load("default")
    let renderer = Renderer(unicode: true)

    func model(_ logs: [(String, String, String)] = []) -> DashboardModel {
        var model = DashboardModel(embedded: true)
        model.update(status: Fixtures.three, now: 100)
        model.append(logs: Fixtures.logs(logs))
        return model
    }

    func draw(_ model: DashboardModel, width: Int = 150, height: Int = 40) -> Canvas {
        renderer.render(model, layout: layout, width: width, height: height)
    }

    // MARK: - Inside view

    @Test func enterOpensAWorkersInsideViewWithWhatItServes() {
        var status = Fixtures.three
        status.services[0].recentExits = [
            RecentExitStatus(worker: "web.1", pid: 91, reason: "killed after 30s without a heartbeat (timeout)", ageS: 40,
                             failure: true, inflight: ["GET /report (31.0s)"]),
            RecentExitStatus(worker: "web.3", pid: 93, reason: "crashed", ageS: 20, failure: true),
        ]
        var model = DashboardModel(embedded: true)
        model.update(status: status, now: 100)
        model.append(logs: Fixtures.logs([("web.1", "info", "web.1 says hello"), ("web.2", "info", "web.2 says hello")]))
        #expect(model.handle(.enter) == [.refresh])
        #expect(model.inspecting == "web.1")
        model.setInflight([InflightRequest(request: "GET /sleep?ms=3000", seconds: 2.1)], of: "web.1")
        model.setInflight([InflightRequest(request: "GET /other", seconds: 1)], of: "web.9")   // not the open one: ignored
        let text = draw(model).text
        #expect(text.contains("web.1  pid 101  ready  thread"))
        #expect(text.contains("in flight now: 1") && text.contains("GET /sleep?ms=3000") && text.contains("2.1s"))
        #expect(!text.contains("GET /other"))
        #expect(text.contains("exits: 1") && text.contains("pid 91, 40s ago: killed after 30s without a heartbeat (timeout), serving GET /report (31.0s)"))
        #expect(text.contains("web.1 says hello") && !text.contains("web.2 says hello"))
        #expect(text.contains("p50 1.5ms  p90 4.0ms  p99 9.0ms"))
        // Down moves the view to the next worker and asks for its requests.
        #expect(model.handle(.down) == [.refresh])
        #expect(model.inspecting == "web.2" && model.inspectedInflight.isEmpty)
        #expect(model.handle(.escape).isEmpty)
        #expect(model.inspecting == nil)
        #expect(!draw(model).text.contains("in flight now"))
    }

    @Test func theInsideViewChartsRpsP50AndP99() throws {
        var model = DashboardModel(embedded: true)
        var status = Fixtures.three
        for second in 0..<20 {
            status.services[0].workers[0].report.latencyMs?.p50 = Double(second + 1)
            model.update(status: status, now: Double(second))
        }
        #expect(model.history.workerP50["web.1"] == (1...20).map(Double.init))
        _ = model.handle(.enter)
        let canvas = draw(model)
        let row = try #require((0..<canvas.height).first { canvas.line($0).hasPrefix(" p50 ") })
        #expect(canvas.line(row - 1).hasPrefix(" req/s ") && canvas.line(row + 1).hasPrefix(" p99 "))
        let line = canvas.line(row)
        #expect(line.hasPrefix(" p50      20ms "), "the latest p50")
        let spark = line.dropFirst(" p50      20ms ".count).filter { $0 != " " }
        #expect(spark.count == 20 && spark.last == "█" && Set(spark).count > 3, "a rising line: \(line)")
        model.update(status: Fixtures.status(workers: [Fixtures.worker(id: 2, pid: 102, rps: 1, p99: 1)]), now: 20)
        #expect(model.history.workerP50["web.1"] == nil, "a worker that left takes its history along")
    }

    @Test func theInsideViewOfAWorkerThatLeftSaysSo() {
        var model = model()
        _ = model.handle(.enter)
        model.update(status: Fixtures.status(workers: [Fixtures.worker(id: 2, pid: 102, rps: 1, p99: 1)]), now: 101)
        #expect(draw(model).text.contains("web.1 is gone"))
    }

    // MARK: - Logs

    @Test func searchHighlightsMatchesAndNMovesBetweenThemWithoutHidingLines() {
        var model = model([("web.1", "info", "GET /boom failed"), ("web.2", "info", "all fine"),
                           ("web.1", "error", "BOOM again"), ("web.3", "info", "quiet")])
        for key in [Key.character("/")] + "boom".map(Key.character) + [.enter] { _ = model.handle(key, logRows: 10) }
        #expect(model.search == "boom")
        #expect(model.searchMatch == 3, "the newest match first")
        #expect(model.visibleLogs.count == 4, "a search hides nothing")
        let canvas = draw(model)
        let row = (0..<canvas.height).first { canvas.line($0).contains("BOOM again") }
        let y = try! #require(row)
        let start = try! #require(Array(canvas.line(y)).firstIndex(of: "B"))
        #expect((start..<start + 4).allSatisfy { canvas.cells[y][$0].style == .match })
        #expect(canvas.cells[y][start + 5].style != .match)
        #expect(canvas.line(y).hasPrefix("▶"), "the current match is marked")
        _ = model.handle(.character("n"))
        #expect(model.searchMatch == 1)
        _ = model.handle(.character("n"))
        #expect(model.searchMatch == 3, "wraps around")
        _ = model.handle(.character("N"))
        #expect(model.searchMatch == 1)
        for key in [Key.character("/")] + "zzz".map(Key.character) + [.enter] { _ = model.handle(key) }
        #expect(model.searchMatch == nil && model.flash == "no line matches 'zzz'")
    }

    static let access = [
        ("web.1", "info", #"127.0.0.1 - - [01/Dec/2026:07:20:01 +0000] "GET /db?id=1 HTTP/1.1" 500 13"#),
        ("web.2", "info", #"{"bytes":2,"method":"POST","path":"/echo","status":201,"worker":"web.2"}"#),
        ("web.1", "warning", "slow request"),
        ("web.2", "info", #"10.0.0.1 - - [01/Dec/2026:07:20:02 +0000] "GET /say \"hi\" HTTP/1.1" 404 -"#),
    ]

    @Test func accessLinesCanBeHiddenAndFilteredByStatusAndPath() {
        var model = model(Self.access)
        _ = model.handle(.character("a"))
        #expect(model.visibleLogs.map(\.text) == ["slow request"])
        _ = model.handle(.character("a"))
        #expect(model.visibleLogs.count == 4)
        for (filter, expected) in [("status>=500", 1), ("status>=400", 2), ("status<300", 1), ("status=404", 1),
                                   ("path=/db", 1), ("path=/e status>200", 1), ("status>=500 path=/echo", 0)] {
            for key in [Key.character("\\")] + filter.map(Key.character) + [.enter] { _ = model.handle(key) }
            #expect(model.visibleLogs.count == expected, "\(filter)")
            // Clear the filter for the next case.
            _ = model.handle(.character("\\"))
            for _ in 0..<filter.count { _ = model.handle(.backspace) }
            _ = model.handle(.enter)
        }
        #expect(LogFilter(parsing: "status>=500 path=/db").text == "status>=500 path=/db")
        #expect(LogFilter(parsing: "status>=5000").words == ["status>=5000"], "not a status: a word")
    }

    @Test func accessFieldsOfBothFormatsAndNothingFromGarbage() {
        #expect(AccessFields(parsing: Self.access[0].2) == AccessFields(method: "GET", path: "/db?id=1", status: 500))
        #expect(AccessFields(parsing: Self.access[1].2) == AccessFields(method: "POST", path: "/echo", status: 201))
        #expect(AccessFields(parsing: Self.access[3].2)?.status == 404)
        for garbage in ["", "[", "] \"", "[x] \"GET / HTTP/1.1\"", "[x] \"GET / HTTP/1.1\" 99999", "{", #"{"status": "x"}"#,
                        "[x] \"\\", "[x] \"GET\" 200 1", "worker web.1 (pid 4) ready"] {
            #expect(AccessFields(parsing: garbage) == nil, "\(garbage)")
        }
    }

    @Test func longLinesWrapOnW() {
        let long = String(repeating: "abcdefghij", count: 30)
        var model = model([("web.1", "info", "short"), ("web.1", "info", long)])
        let cut = draw(model)
        #expect(cut.text.components(separatedBy: "abcdefghij").count - 1 < 15, "cut at the pane's width")
        _ = model.handle(.character("w"))
        #expect(model.wrapLogs)
        let wrapped = draw(model).text
        #expect(wrapped.components(separatedBy: "abcdefghij").count - 1 >= 28, "every piece of the line is on screen (two split at row ends)")
        #expect(wrapped.contains("short"))
        // The rows of the pane: the newest entry whole at the bottom, older ones above.
        let entries = Fixtures.logs([("a", "info", "one"), ("b", "info", String(repeating: "x", count: 25))])
        let rows = Renderer.logRows(entries, end: 2, rows: 3, textWidth: 10)
        #expect(rows.map(\.range) == [0..<10, 10..<20, 20..<25])
        #expect(Renderer.logRows(entries, end: 2, rows: 5, textWidth: 10).first?.entry.text == "one")
        #expect(Renderer.logRows(entries, end: 2, rows: 5, textWidth: nil).count == 2)
    }

    @Test func capitalWWritesTheLogAsShown() {
        var model = model(Self.access)
        for key in [Key.character("\\")] + "@web.1".map(Key.character) + [.enter] { _ = model.handle(key) }
        guard case .writeLog(let lines)? = model.handle(.character("W")).first else {
            Issue.record("no writeLog effect")
            return
        }
        #expect(lines.count == 2)
        #expect(lines[1].hasSuffix("web.1 warning slow request"))
        #expect(lines[0].hasPrefix("2027-01-15T"))   // the fixtures' 1_800_000_000
    }

    // MARK: - History

    @Test func historyMarksWhatChangedAndTheCursorShowsThePast() {
        var model = model()
        var status = Fixtures.three
        for second in 1...5 {
            if second == 3 {
                status.services[0].targetWorkers = 4
                status.services[0].mode = .cooperative
                status.services[0].reloads = 1
                status.services[0].recentExits = [RecentExitStatus(worker: "web.2", pid: 102, reason: "crashed", ageS: 0, failure: true)]
                status.services[0].workers.removeLast()
            }
            model.update(status: status, now: 100 + Double(second))
        }
        let events = model.history.samples[3].events
        #expect(events.map(\.mark) == ["+", "M", "R", "X"])
        #expect(events.map(\.text).contains("web: 3 -> 4 workers"))
        // Back in time: the three workers as they were before the change.
        #expect(model.sortedWorkers.count == 2)
        for _ in 0..<3 { _ = model.handle(.left) }
        #expect(model.cursor == 2)
        #expect(model.sortedWorkers.count == 3)
        let text = draw(model).text
        #expect(text.contains("AT ") && text.contains("3s ago (End: now)"))
        _ = model.handle(.right)
        #expect(model.flash?.contains("web: 3 -> 4 workers") == true, "the moment's events are said")
        _ = model.handle(.end)
        #expect(model.cursor == nil && model.sortedWorkers.count == 2)
        // The marks are on the time line.
        let canvas = draw(model)
        let timeline = try! #require((0..<canvas.height).first { canvas.line($0).hasPrefix(" req/s, last") })
        #expect(canvas.line(timeline).hasSuffix("X█") || canvas.line(timeline).contains("X"))
    }

    @Test func historyKeepsTenMinutesAndEachWorkersTrend() {
        var model = DashboardModel(embedded: true)
        for second in 0..<(History.capacity + 50) {
            model.update(status: Fixtures.status(workers: [Fixtures.worker(id: 1, pid: 101, rps: Double(second % 10), p99: 5)]),
                         now: Double(second))
            if second == 100 { for _ in 0..<10 { _ = model.handle(.left) } }
        }
        #expect(model.history.samples.count == History.capacity)
        #expect(model.history.workerRPS["web.1"]?.count == History.capacity)
        #expect(model.cursor == 40, "the cursor stays on its moment as old samples go")
        model.update(status: Fixtures.status(workers: [Fixtures.worker(id: 2, pid: 102, rps: 1, p99: 1)]), now: 1000)
        #expect(model.history.workerRPS["web.1"] == nil, "a worker that left takes its trend along")
        #expect(Renderer.buckets([1, 2, 3, 4, 5, 6, 7], count: 3, worst: false) == [1, 3, 6], "the newest bucket full")
        #expect(Renderer.buckets([1, 9, 3, 4, 5, 6, 7], count: 3, worst: true) == [1, 9, 7])
        #expect(Renderer.buckets([1, 2], count: 3, worst: true) == [1, 2])
    }

    @Test func theTrendColumnsDrawSparklines() {
        var model = DashboardModel(embedded: true)
        for second in 0..<20 {
            model.update(status: Fixtures.status(workers: [Fixtures.worker(id: 1, pid: 101, rps: Double(second), p99: 5)]),
                         now: Double(second))
        }
        let canvas = draw(model)
        let heading = try! #require((0..<canvas.height).first { canvas.line($0).contains("RPS TREND") })
        let column = try! #require(canvas.line(heading).range(of: "RPS TREND")).lowerBound
        let offset = canvas.line(heading).distance(from: canvas.line(heading).startIndex, to: column)
        let cells = canvas.cells[heading + 1][offset..<offset + 10].map(\.character)
        #expect(cells.last == "█", "the newest sample is the highest")
        #expect(Set(cells).count > 3, "a rising line: several levels")
    }

    // MARK: - Mouse

    @Test func clicksSelectSortAndOpenWheelsScroll() {
        var model = model((1...30).map { ("web.1", "info", "line \($0)") })
        let canvas = draw(model)
        let row = try! #require((0..<canvas.height).first { canvas.line($0).hasPrefix(" web.3") })
        let hit = renderer.hit(x: 3, y: row, model: model, layout: layout, width: 150, height: 40)
        #expect(hit == .workerRow(2))
        #expect(model.handle(mouse: MouseEvent(x: 3, y: row, button: .left), at: hit).isEmpty)
        #expect(model.selectedWorker?.name == "web.3")
        // A second click on the selected worker opens it.
        #expect(model.handle(mouse: MouseEvent(x: 3, y: row, button: .left), at: hit) == [.refresh])
        #expect(model.inspecting == "web.3")
        _ = model.handle(.escape)
        let heading = row - 3
        let headingLine = canvas.line(heading)
        let rpsX = headingLine.distance(from: headingLine.startIndex, to: try! #require(headingLine.range(of: " RPS ")).lowerBound) + 1
        let header = renderer.hit(x: rpsX, y: heading, model: model, layout: layout, width: 150, height: 40)
        #expect(header == .columnHeader(.rps))
        _ = model.handle(mouse: MouseEvent(x: rpsX, y: heading, button: .left), at: header)
        #expect(model.sort == .rps)
        let logs = renderer.hit(x: 10, y: 35, model: model, layout: layout, width: 150, height: 40)
        #expect(logs == .logs)
        _ = model.handle(mouse: MouseEvent(x: 10, y: 35, button: .wheelUp), at: logs)
        #expect(model.focus == .logs && model.logScroll == 3)
        _ = model.handle(mouse: MouseEvent(x: 10, y: 35, button: .wheelDown), at: logs)
        #expect(model.logScroll == 0)
        #expect(renderer.hit(x: 10, y: 0, model: model, layout: layout, width: 150, height: 40) == nil)
    }

    @Test func aClickOnTheTimeLineMovesTheCursorThere() {
        var model = model()
        for second in 1...9 { model.update(status: Fixtures.three, now: 100 + Double(second)) }
        let canvas = draw(model)
        let y = try! #require((0..<canvas.height).first { canvas.line($0).hasPrefix(" req/s, last") })
        // The newest sample is in the last column of the line, before the margin.
        let hit = renderer.hit(x: 148, y: y, model: model, layout: layout, width: 150, height: 40)
        #expect(hit == .timeline(9))
        let older = renderer.hit(x: 145, y: y, model: model, layout: layout, width: 150, height: 40)
        #expect(older == .timeline(6))
        _ = model.handle(mouse: MouseEvent(x: 145, y: y, button: .left), at: older)
        #expect(model.cursor == 6)
        #expect(draw(model).cells[y][145].style == .selected)
    }

    // MARK: - Header

    @Test func theHeaderListsTheAppTheDataStoreAndTheDatabase() {
        var status = Fixtures.three
        var store = status.services[0]
        store.name = "ds"
        store.auxiliary = true
        store.binds = ["127.0.0.1:6380"]
        var storeWorker = store.workers[0]
        storeWorker.name = "ds.1"
        storeWorker.report.dataStore = DataStoreFigures(keys: 12, channels: 1, subscribers: 2, clients: 5)
        store.workers = [storeWorker]
        status.services.insert(store, at: 0)
        for index in status.services[1].workers.indices {
            status.services[1].workers[index].report.database = DatabaseFigures(inUse: 2, size: 10, waiting: 1)
        }
        var model = DashboardModel(embedded: true)
        model.update(status: status, now: 100)
        let canvas = draw(model)
        #expect(canvas.line(1) == " web  thread  3/3 workers  running  127.0.0.1:8060  database pool 6/30 in use, 3 waiting")
        #expect(canvas.line(2) == " ds  data store  127.0.0.1:6380  12 keys  5 clients  1 channels  2 subscribers  running")
        // With a line to spare, the database has its own.
        let text = renderer.render(model, layout: Fixtures.tallHeader, width: 150, height: 12)
        #expect(text.line(3) == " database  pool 6/30 in use, 3 waiting")
    }

    // MARK: - Autoscaling

    @Test func capitalATurnsAutoscalingOnWithBoundsAndOffAgain() {
        var model = model()
        #expect(model.handle(.character("A")).isEmpty)
        #expect(model.overlay == .autoscaleInput(service: "web", text: "1:6"), "twice the workers, at least 4")
        for _ in 0..<3 { _ = model.handle(.backspace) }
        for key in "2:5".map(Key.character) { _ = model.handle(key) }
        #expect(model.handle(.enter) == [.control(.autoscale(AutoscaleBounds(min: 2, max: 5), service: "web"))])
        _ = model.handle(.character("A"))
        for _ in 0..<3 { _ = model.handle(.backspace) }
        for key in "5:2".map(Key.character) { _ = model.handle(key) }
        #expect(model.handle(.enter).isEmpty, "bad bounds are refused here, in the operator's words")
        #expect(model.flash?.hasPrefix("autoscale needs MIN:MAX") == true)
        var status = Fixtures.three
        status.services[0].autoscale = AutoscaleStatus(min: 2, max: 5, lastDecision: "3 -> 4 workers: pool 30/30 busy, queue 7, for 3 s",
                                                       lastDecisionAgeS: 2)
        model.update(status: status, now: 101)
        #expect(draw(model).line(1).contains("autoscale 2-5 (3 -> 4 workers: pool 30/30 busy, queue 7, for 3 s, 2s ago)"))
        #expect(model.handle(.character("A")) == [.control(.autoscale(nil, service: "web"))])
    }
}
