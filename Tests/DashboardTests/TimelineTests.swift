import PulseControl
import Dashboard
import Testing

/// The totals' time line shows the whole history kept (`Renderer+Timeline`), and the
/// mouse finds on it the samples it draws.
@Suite struct TimelineTests {
    let layout = try! LayoutLibrary(folders: [Fixtures.root + "/layouts"]).load("default")
    let renderer = Renderer(unicode: true)

    /// Ten minutes and a bit, a status a second; the service scaled up at the status
    /// that ends up the oldest kept.
    func tenMinutes() -> DashboardModel {
        var model = DashboardModel(embedded: true)
        var status = Fixtures.three
        for second in 0..<(History.capacity + 50) {
            if second == 50 { status.services[0].targetWorkers = 4 }
            model.update(status: status, now: Double(second))
        }
        return model
    }

    func draw(_ model: DashboardModel) -> Canvas { renderer.render(model, layout: layout, width: 150, height: 40) }

    func row(_ canvas: Canvas) throws -> Int {
        try #require((0..<canvas.height).first { canvas.line($0).hasPrefix(" req/s, last") })
    }

    @Test func theWholeHistoryIsDrawnAndTheOldestMarkShows() throws {
        let model = tenMinutes()
        #expect(model.history.samples.count == History.capacity)
        #expect(model.history.samples[0].events.map(\.mark) == ["+"])
        let canvas = draw(model)
        let y = try row(canvas)
        let label = " req/s, last 9m59s "
        #expect(canvas.line(y).hasPrefix(label), "the label says the time from the oldest sample to the newest")
        let chart = Array(canvas.line(y).dropFirst(label.count))
        // 600 samples in 130 columns: 5 a column, 120 columns, the newest full.
        #expect(chart.filter { $0 != " " }.count == 120)
        #expect(chart.first { $0 != " " } == "+", "the oldest sample's event, in the oldest column")
        #expect(chart.filter { $0 == "+" }.count == 1)
    }

    @Test func aClickOnTheOldestColumnGoesBackTheWholeHistory() throws {
        var model = tenMinutes()
        let canvas = draw(model)
        let y = try row(canvas)
        let x = " req/s, last 9m59s ".count
        let mark = try #require(Array(canvas.line(y)).firstIndex(of: "+"))
        #expect(renderer.hit(x: mark, y: y, model: model, layout: layout, width: 150, height: 40) == .timeline(0))
        // Left of the oldest column: still the oldest moment.
        let hit = renderer.hit(x: x, y: y, model: model, layout: layout, width: 150, height: 40)
        #expect(hit == .timeline(0))
        _ = model.handle(mouse: MouseEvent(x: x, y: y, button: .left), at: hit)
        #expect(model.cursor == 0)
        #expect(model.flash == "9m59s ago: web: 3 -> 4 workers", "the moment and what happened then")
        let back = draw(model)
        #expect(back.line(0).contains("9m59s ago (End: now)"), "as long ago as the label says the line goes")
        #expect(back.cells[y][mark].style == .selected, "the cursor is drawn on the column the click was in")
        // The newest column is now.
        let newest = renderer.hit(x: 148, y: y, model: model, layout: layout, width: 150, height: 40)
        _ = model.handle(mouse: MouseEvent(x: 148, y: y, button: .left), at: newest)
        #expect(model.cursor == nil)
    }

    @Test func theCursorIsDrawnInTheColumnItsSampleIsIn() throws {
        var model = tenMinutes()
        for _ in 0..<299 { _ = model.handle(.left) }
        #expect(model.cursor == 300)
        let canvas = draw(model)
        let y = try row(canvas)
        let selected = (0..<150).filter { canvas.cells[y][$0].style == .selected }
        #expect(selected.count == 1)
        let x = try #require(selected.first)
        // A column holds 5 samples: a click there is on the cursor's five.
        guard case .timeline(let sample)? = renderer.hit(x: x, y: y, model: model, layout: layout, width: 150, height: 40) else {
            Issue.record("no sample under the cursor")
            return
        }
        #expect(sample / 5 == 300 / 5)
        #expect(renderer.hit(x: x - 1, y: y, model: model, layout: layout, width: 150, height: 40) == .timeline(299))
    }
}
