@testable import Dashboard
import Foundation
import Testing

@Suite struct LayoutTests {
    let library = LayoutLibrary(folders: [Fixtures.root + "/layouts"])

    @Test func theShippedLayoutsParse() throws {
        #expect(library.names() == ["default", "compact", "logs", "wide"])
        for name in library.names() {
            let layout = try library.load(name)
            #expect(layout.name == name)
            #expect(layout.rows.flatMap(\.panes).contains { $0.pane == .workers })
        }
    }

    @Test func rowsShareTheScreen() throws {
        let layout = try library.load("default")
        let frames = layout.frames(width: 120, height: 40)
        #expect(frames.map(\.pane.pane) == [.header, .totals, .workers, .logs, .footer])
        #expect(frames.map(\.rect.height) == [3, 4, 16, 16, 1])
        #expect(frames.map(\.rect.y) == [0, 3, 7, 23, 39])
        let wide = try library.load("wide").frames(width: 200, height: 40)
        let workers = try #require(wide.first { $0.pane.pane == .workers }?.rect)
        let logs = try #require(wide.first { $0.pane.pane == .logs }?.rect)
        #expect(workers.width == 110 && logs.x == 110 && logs.width == 90 && logs.y == workers.y)
    }

    /// A few workers leave no empty band: their row takes the lines they need, and the
    /// logs the rest; many workers get the row's share and scroll.
    @Test func aShareRowTakesNoMoreThanItsPanesNeed() throws {
        let layout = try library.load("default")
        #expect(layout.frames(width: 120, height: 40, content: [.workers: 4]).map(\.rect.height) == [3, 4, 4, 28, 1])
        #expect(layout.frames(width: 120, height: 40, content: [.workers: 30]).map(\.rect.height) == [3, 4, 16, 16, 1])
        // Beside a pane that cannot say what it needs (the logs), the row keeps its share.
        let wide = try library.load("wide")
        #expect(wide.frames(width: 200, height: 40, content: [.workers: 4]).map(\.rect.height)
                == wide.frames(width: 200, height: 40).map(\.rect.height))
        // The renderer sizes it from the model: two workers, two rows, and the logs below them.
        var model = DashboardModel(embedded: true)
        model.update(status: Fixtures.status(workers: [Fixtures.worker(id: 1, pid: 101, rps: 1, p99: 1),
                                                       Fixtures.worker(id: 2, pid: 102, rps: 1, p99: 1)]), now: 100)
        #expect(Renderer.rows(of: layout, width: 120, height: 40, model).workers == 2)
        #expect(Renderer.rows(of: layout, width: 120, height: 40, model).logs == 40 - 3 - 4 - 3 - 1 - 1)   // less header, totals, workers, footer and its own heading
    }

    @Test func splittingNeverExceedsTheTotal() {
        #expect(Layout.split([.lines(5), .fill, .lines(3)], total: 20) == [5, 12, 3])
        #expect(Layout.split([.lines(30), .fill], total: 20) == [20, 0])
        #expect(Layout.split([.percent(50), .fill, .fill], total: 21) == [10, 5, 6])
    }

    @Test func aBrokenLayoutNamesTheFileAndTheProblem() throws {
        let bad = """
        name: broken
        min_width: 80
        min_height: 20
        rows:
          - height: tall
            panes: [{pane: workers}]
        """
        #expect {
            try Layout.parse(bad, origin: "layouts/broken.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("layout layouts/broken.yaml:") && text.contains("'tall' is not a size") && text.contains("rows[1].height")
        }
        #expect(throws: LayoutError.self) { try Layout.parse("name: x\nmin_width: 1\nmin_height: 1\nrows: []", origin: "x") }
        #expect(throws: LayoutError.self) {
            try Layout.parse("name: x\nmin_width: 1\nmin_height: 1\nrows:\n  - height: 1\n    panes: [{pane: graphs}]", origin: "x")
        }
        #expect(throws: LayoutError.self) { try library.load("no-such-layout") }
    }
}
