import PulseControl
import Dashboard
import Testing

/// `pulse top` watching several arbiters: one merged status, names carrying their
/// arbiter's number, and each key's command sent to the arbiter it names.
@Suite struct ArbiterSetTests {
    let layout = try! LayoutLibrary(folders: [Fixtures.root + "/layouts"]).load("default")

    var two: StatusSnapshot? {
        var second = Fixtures.status(workers: [Fixtures.worker(id: 1, pid: 201, rps: 5, p99: 2)])
        second.arbiter.pid = 5151
        second.services[0].recentExits = [RecentExitStatus(worker: "web.2", pid: 202, reason: "crashed", ageS: 1, failure: true)]
        return ArbiterSet.merge([Fixtures.three, second])
    }

    @Test func namesCarryTheirArbitersNumber() throws {
        let merged = try #require(two)
        #expect(merged.services.map(\.name) == ["1/web", "2/web"])
        #expect(merged.services.flatMap(\.workers).map(\.name) == ["1/web.1", "1/web.2", "1/web.3", "2/web.1"])
        #expect(merged.services[1].recentExits.map(\.worker) == ["2/web.2"])
        // One arbiter: nothing renamed; none answering: nothing to show.
        #expect(ArbiterSet.merge([Fixtures.three])?.services.map(\.name) == ["web"])
        #expect(ArbiterSet.merge([nil, nil]) == nil)
        #expect(ArbiterSet.merge([nil, Fixtures.three])?.services.map(\.name) == ["2/web"])
        #expect(ArbiterSet.split("12/web.3")! == (11, "web.3"))
        #expect(ArbiterSet.split("web.3") == nil && ArbiterSet.split("0/web") == nil && ArbiterSet.split("x/web") == nil)
    }

    @Test func commandsGoToTheArbiterTheyName() {
        #expect(ArbiterSet.route(.scale(.by(1), service: "2/web"), count: 2)! == (1, .scale(.by(1), service: "web")))
        #expect(ArbiterSet.route(.kill(worker: "1/web.3", signal: .term), count: 2)! == (0, .kill(worker: "web.3", signal: .term)))
        #expect(ArbiterSet.route(.inspect(worker: "2/ds.1"), count: 2)! == (1, .inspect(worker: "ds.1")))
        #expect(ArbiterSet.route(.mode(.cooperative, service: "2/web"), count: 2)! == (1, .mode(.cooperative, service: "web")))
        #expect(ArbiterSet.route(.scale(.by(1), service: "3/web"), count: 2) == nil, "no third arbiter")
        #expect(ArbiterSet.route(.kill(worker: "web.1"), count: 2) == nil, "which arbiter's web.1?")
        #expect(ArbiterSet.route(.kill(worker: "web.1"), count: 1)! == (0, .kill(worker: "web.1")))
        let entry = LogEntry(seq: 9, time: 1, source: "web.1", level: "info", text: "hi")
        #expect(ArbiterSet.entry(entry, of: 1, count: 2, seq: 40) == LogEntry(seq: 40, time: 1, source: "2/web.1", level: "info", text: "hi"))
    }

    @Test func oneHeaderLineAndOneGroupOfWorkersPerArbiter() throws {
        var model = DashboardModel(embedded: false)
        model.update(status: try #require(two), now: 100)
        model.setSections([ArbiterSection(control: "/a.sock", arbiter: Fixtures.three.arbiter),
                           ArbiterSection(control: "/b.sock", arbiter: nil)])
        _ = model.handle(.character("s"))   // by rps: 2/web.1 (5 rps) still after the first arbiter's
        #expect(model.sortedWorkers.map(\.name) == ["1/web.2", "1/web.3", "1/web.1", "2/web.1"])
        for _ in 0..<3 { _ = model.handle(.down) }
        #expect(model.handle(.character("+")) == [.control(.scale(.by(1), service: "2/web"))])
        let canvas = Renderer(unicode: true).render(model, layout: layout, width: 150, height: 40)
        #expect(canvas.line(0).hasPrefix(" pulse 0.1.0  2 arbiters  layout default"))
        #expect(canvas.line(1).hasPrefix(" 1  pid 4242  up 1h02m  | 1/web  thread  3/3 workers  running"))
        #expect(canvas.line(2) == " 2  not answering on /b.sock")
    }

    @Test func arbitersWithoutALineAreCounted() throws {
        var third = Fixtures.status(workers: [Fixtures.worker(id: 1, pid: 301, rps: 5, p99: 2)])
        third.arbiter.pid = 6161
        let merged = try #require(ArbiterSet.merge([Fixtures.three, nil, third]))
        var model = DashboardModel(embedded: false)
        model.update(status: merged, now: 100)
        model.setSections([ArbiterSection(control: "/a.sock", arbiter: Fixtures.three.arbiter),
                           ArbiterSection(control: "/b.sock", arbiter: nil),
                           ArbiterSection(control: "/c.sock", arbiter: third.arbiter)])
        // Two lines under the title: the first arbiter, then what does not fit.
        let canvas = Renderer(unicode: true).render(model, layout: layout, width: 150, height: 40)
        #expect(canvas.line(0).hasPrefix(" pulse 0.1.0  3 arbiters"))
        #expect(canvas.line(1).hasPrefix(" 1  pid 4242  up 1h02m  | 1/web"))
        #expect(canvas.line(2) == " +2 more arbiters, 1 not answering")
        // With room for all three, a line each.
        let roomy = Renderer(unicode: true).render(model, layout: Fixtures.tallHeader, width: 150, height: 12)
        #expect(roomy.line(2) == " 2  not answering on /b.sock")
        #expect(roomy.line(3).hasPrefix(" 3  pid 6161  up 1h02m  | 3/web"))
        #expect(!roomy.text.contains("more arbiters"))
    }
}
