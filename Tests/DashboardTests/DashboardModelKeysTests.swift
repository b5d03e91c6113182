import PulseControl
import Dashboard
import Mailbox
import Testing

/// What keys and clicks do to the model (`DashboardModel+Keys`): acting on the live
/// status from a past moment, the web service when the data store is selected, and
/// sorting by every column a heading click offers.
@Suite struct DashboardModelKeysTests {
    let renderer = Renderer(unicode: true)

    // MARK: - The past

    @Test func keysThatActActOnTheLiveStatusNotTheMomentShown() {
        var past = Fixtures.three
        past.services[0].autoscale = AutoscaleStatus(min: 1, max: 4)
        var live = Fixtures.status(workers: [Fixtures.worker(id: 1, pid: 101, rps: 10, p99: 9),
                                             Fixtures.worker(id: 2, pid: 102, rps: 30, p99: 3),
                                             Fixtures.worker(id: 3, pid: 203, rps: 20, p99: 12)], mode: "cooperative")
        live.services[0].autoscale = nil
        var model = DashboardModel(embedded: true)
        model.update(status: past, now: 100)
        model.update(status: live, now: 101)
        _ = model.handle(.left)
        #expect(model.cursor == 0 && model.shown?.services[0].mode == .thread)
        // Thread mode then, cooperative now: `t` goes to thread.
        #expect(model.handle(.character("t")) == [.control(.mode(.thread, service: "web"))])
        #expect(model.cursor == nil, "acting leaves the past")
        // Autoscaling on then, off now: `A` asks for bounds rather than turning it off.
        _ = model.handle(.left)
        #expect(model.handle(.character("A")).isEmpty)
        #expect(model.overlay == .autoscaleInput(service: "web", text: "1:6"))
        _ = model.handle(.escape)
        // web.3 was pid 103 then and is pid 203 now: the kill menu names the live one.
        _ = model.handle(.left)
        for _ in 0..<2 { _ = model.handle(.down) }
        #expect(model.selectedWorker?.pid == 103)
        #expect(model.handle(.character("k")).isEmpty)
        #expect(model.overlay == .killMenu(worker: "web.3", pid: 203))
        _ = model.handle(.escape)
        _ = model.handle(.left)
        #expect(model.handle(.character("+")) == [.control(.scale(.by(1), service: "web"))])
        #expect(model.cursor == nil)
    }

    @Test func aWorkerGoneSinceIsNotSignalledAndTheSelectionStaysInItsService() {
        var model = DashboardModel(embedded: true)
        var past = Fixtures.withStore(Fixtures.three)
        past.services[0].workers.append(try! ControlCodec.decode(WorkerStatus.self, from: Array(Fixtures.worker(id: 4, pid: 104, rps: 1, p99: 1).utf8)))
        model.update(status: past, now: 100)
        model.update(status: Fixtures.withStore(Fixtures.three), now: 101)
        _ = model.handle(.left)
        for _ in 0..<3 { _ = model.handle(.down) }
        #expect(model.selectedWorker?.name == "web.4")
        #expect(model.handle(.character("k")).isEmpty)
        #expect(model.overlay == nil && model.flash == "that worker is no longer running")
        #expect(model.cursor == nil && model.selectedService?.name == "web", "not the data store, now where web.4 was")
    }

    // MARK: - The data store selected

    @Test func withTheDataStoreSelectedTheLoadAndTheModeAreTheWebServices() throws {
        var status = Fixtures.withStore(Fixtures.three)
        status.services[0].workers[0].report.queue = 5
        var model = DashboardModel(embedded: true)
        model.update(status: status, now: 100)
        for _ in 0..<3 { _ = model.handle(.down) }
        #expect(model.selectedWorker?.name == "ds.1" && model.selectedService?.name == "ds")
        #expect(model.webService?.name == "web")
        #expect(model.handle(.character("t")) == [.control(.mode(.cooperative, service: "web"))])
        _ = model.handle(.character("A"))
        #expect(model.overlay == .autoscaleInput(service: "web", text: "1:6"))
        _ = model.handle(.escape)
        model.setLoadLevel(.saturating)
        #expect(model.shouldHintModeSwitch, "web's threads queue")
        let plan = try #require(model.webService.flatMap { LoadPlan(.saturating, for: $0) })
        #expect(plan.port == 8060 && plan.label == "90 clients on /sleep?ms=200, for 30 threads")
        // Several arbiters: the web service of the data store's own arbiter.
        var second = Fixtures.withStore(Fixtures.three)
        for service in second.services.indices {
            for worker in second.services[service].workers.indices { second.services[service].workers[worker].pid += 1000 }
        }
        let merged = try #require(ArbiterSet.merge([Fixtures.withStore(Fixtures.three), second]))
        var two = DashboardModel(embedded: false)
        two.update(status: merged, now: 100)
        for _ in 0..<7 { _ = two.handle(.down) }
        #expect(two.selectedWorker?.name == "2/ds.1")
        #expect(two.webService?.name == "2/web")
    }

    // MARK: - Sorting by a heading

    @Test func everyHeadingThatSaysSortedSorts() throws {
        let layout = try Layout.parse("""
            name: sorting
            min_width: 40
            min_height: 10
            rows:
              - {height: fill, panes: [{pane: workers, columns: [id, mode, state, threads, green, ws, db, rps_trend]}]}
            """, origin: "test")
        var status = Fixtures.three
        let workers = status.services[0].workers.indices
        for (index, state) in zip(workers, [WorkerState.booting, .ready, .draining]) { status.services[0].workers[index].state = state }
        status.services[0].workers[1].report.mode = "cooperative"
        status.services[0].workers[1].report.green = PoolOccupancy(busy: 50, size: 100)
        status.services[0].workers[0].report.database = DatabaseFigures(inUse: 2, size: 10, waiting: 0)
        status.services[0].workers[2].report.database = DatabaseFigures(inUse: 5, size: 10, waiting: 0)
        var model = DashboardModel(embedded: true)
        model.update(status: status, now: 100)
        let heading = renderer.render(model, layout: layout, width: 120, height: 20).line(0)
        func click(_ title: String) throws {
            let x = heading.distance(from: heading.startIndex, to: try #require(heading.range(of: title)).lowerBound)
            let hit = renderer.hit(x: x, y: 0, model: model, layout: layout, width: 120, height: 20)
            _ = model.handle(mouse: MouseEvent(x: x, y: 0, button: .left), at: hit)
        }
        let expected: [(String, WorkerColumn, [String])] = [
            ("MODE", .mode, ["web.2", "web.1", "web.3"]),       // cooperative before thread
            ("STATE", .state, ["web.1", "web.3", "web.2"]),     // booting, draining, then ready
            ("THREADS", .threads, ["web.3", "web.2", "web.1"]), // the busiest first
            ("GREEN", .green, ["web.2", "web.1", "web.3"]),
            ("WS", .ws, ["web.3", "web.2", "web.1"]),
            ("DB", .db, ["web.3", "web.1", "web.2"]),
        ]
        for (title, column, names) in expected {
            try click(title)
            #expect(model.sort == column && model.flash == "sorted by \(column.rawValue)")
            #expect(model.sortedWorkers.map(\.name) == names, "sorted by \(title)")
        }
        // A trend has no one figure to sort by: its heading does nothing.
        try click("RPS TREND")
        #expect(model.sort == .db && model.flash == "sorted by db")
    }
}
