import PulseControl
import Dashboard
import Mailbox
import Testing

/// What the built-in load sends and where (`LoadPlan`).
@Suite struct LoadPlanTests {
    @Test func lightAndSaturatingForTheServicesThreads() throws {
        let web = Fixtures.three.services[0]
        #expect(LoadPlan(.off, for: web) == nil)
        let light = try #require(LoadPlan(.light, for: web))
        #expect(light.host == "127.0.0.1" && light.port == 8060 && light.concurrency == 2)
        #expect(light.paths.allSatisfy { !$0.hasPrefix("/db") })
        let saturating = try #require(LoadPlan(.saturating, for: web))
        #expect(saturating.concurrency == 90, "three clients a thread: 3 workers of 10")
        #expect(saturating.paths == ["/sleep?ms=200"], "no database reported: no /db")
        #expect(saturating.label == "90 clients on /sleep?ms=200, for 30 threads")
    }

    @Test func withADatabaseTheSaturatingLoadSendsDbToo() throws {
        var web = Fixtures.three.services[0]
        for index in web.workers.indices { web.workers[index].report.database = DatabaseFigures(inUse: 0, size: 10, waiting: 0) }
        let plan = try #require(LoadPlan(.saturating, for: web))
        #expect(plan.paths == ["/sleep?ms=200", "/db?ms=200"])
        #expect(plan.label == "90 clients on /sleep?ms=200 and /db?ms=200, for 30 threads")
    }

    /// Pool sizes come over a socket: absurd ones are bounded, not summed into a trap.
    @Test func absurdPoolSizesAreBounded() throws {
        var web = Fixtures.three.services[0]
        for index in web.workers.indices { web.workers[index].report.threads = PoolOccupancy(busy: 0, size: Int.max) }
        let plan = try #require(LoadPlan(.saturating, for: web))
        #expect(plan.concurrency == 300)
    }

    @Test func theFirstTCPAddress() throws {
        var web = Fixtures.three.services[0]
        web.binds = ["unix:/tmp/web.sock", "[::]:8080"]
        let plan = try #require(LoadPlan(.light, for: web))
        #expect(plan.host == "127.0.0.1" && plan.port == 8080)
        web.binds = ["unix:/tmp/web.sock"]
        #expect(LoadPlan(.light, for: web) == nil)
    }
}
