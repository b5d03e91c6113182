@testable import Arbiter
import Mailbox
import PulseControl
import Testing

/// The exposition and the readiness rule, from statuses built by hand.
@Suite struct PrometheusExpositionTests {
    func worker(_ name: String, state: WorkerState = .ready, requests: [Int] = [0, 7, 0, 2, 1]) -> WorkerStatus {
        var report = WorkerReport()
        report.statusClasses = requests
        report.requests = requests.reduce(0, +)
        report.latencyBuckets = [3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1]
        report.latencySumS = 52.5
        report.threads = PoolOccupancy(busy: 1, size: 10)
        return WorkerStatus(id: 1, name: name, pid: 100, state: state, intent: nil, uptimeS: 3, rps: 0,
                            lastHeartbeatMs: 250, restarts: 0, rssBytes: 4096, cpuPercent: 50, report: report)
    }

    func service(_ name: String, target: Int, workers: [WorkerStatus], state: ServiceState = .running) -> ServiceStatus {
        ServiceStatus(name: name, binds: ["127.0.0.1:8060"], urls: [], targetWorkers: target, mode: .thread, auxiliary: false,
                      liveWorkers: workers.count, state: state, consecutiveFailures: 0, nextSpawnInS: nil, workers: workers,
                      recentExits: [], reloads: 3, exits: ["crash": 2, "reload": 4])
    }

    func snapshot(_ services: [ServiceStatus], state: String = "running") -> StatusSnapshot {
        StatusSnapshot(arbiter: ArbiterStatus(pid: 1, version: "x", state: state, uptimeS: 10, control: "/c", pidfile: nil, logFile: nil),
                       services: services)
    }

    @Test func familiesHaveHelpTypeAndLabelledSamples() {
        let text = PrometheusExposition.render(snapshot([service("web", target: 1, workers: [worker("web.1")])]))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("# TYPE pulse_worker_requests_total counter"))
        #expect(lines.contains(#"pulse_worker_requests_total{code="2xx",service="web",worker="web.1"} 7"#))
        #expect(lines.contains(#"pulse_worker_requests_total{code="5xx",service="web",worker="web.1"} 1"#))
        #expect(lines.contains(#"pulse_service_worker_exits_total{kind="crash",service="web"} 2"#))
        #expect(lines.contains(#"pulse_service_reloads_total{service="web"} 3"#))
        #expect(lines.contains(#"pulse_worker_cpu_ratio{service="web",worker="web.1"} 0.5"#))
        // Every family is announced once, before its samples.
        let types = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(Set(types).count == types.count)
        for line in lines where !line.hasPrefix("#") {
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            #expect(types.contains { name.hasPrefix($0) }, "\(line) has no family")
        }
    }

    @Test func theHistogramIsCumulativeWithInfEqualToCount() {
        let text = PrometheusExposition.render(snapshot([service("web", target: 1, workers: [worker("web.1")])]))
        #expect(text.contains(#"pulse_worker_request_duration_seconds_bucket{service="web",worker="web.1",le="0.005"} 3"#))
        #expect(text.contains(#"pulse_worker_request_duration_seconds_bucket{service="web",worker="web.1",le="0.01"} 5"#))
        #expect(text.contains(#"pulse_worker_request_duration_seconds_bucket{service="web",worker="web.1",le="10.0"} 9"#))
        #expect(text.contains(#"pulse_worker_request_duration_seconds_bucket{service="web",worker="web.1",le="+Inf"} 10"#))
        #expect(text.contains(#"pulse_worker_request_duration_seconds_count{service="web",worker="web.1"} 10"#))
        #expect(text.contains(#"pulse_worker_request_duration_seconds_sum{service="web",worker="web.1"} 52.5"#))
    }

    @Test func labelValuesAreEscaped() {
        let text = PrometheusExposition.render(snapshot([service("we\"b\\\n", target: 1, workers: [])]))
        #expect(text.contains(#"pulse_service_workers_target{service="we\"b\\\n"} 1"#))
    }

    @Test func readinessNamesWhatIsMissing() {
        #expect(Readiness.reasons(snapshot([service("web", target: 2, workers: [worker("web.1"), worker("web.2")])])).isEmpty)
        // A rolling reload: the replacement boots while the old one serves.
        let reloading = service("web", target: 1, workers: [worker("web.1"), worker("web.2", state: .booting)])
        #expect(Readiness.reasons(snapshot([reloading])).isEmpty)
        #expect(Readiness.reasons(snapshot([service("web", target: 2, workers: [worker("web.1"), worker("web.2", state: .draining)])]))
                == ["service web has 1 of 2 workers ready"])
        #expect(Readiness.reasons(snapshot([service("web", target: 1, workers: [], state: .errored)]))
                == ["service web is errored: its workers fail to boot"])
        #expect(Readiness.reasons(snapshot([service("web", target: 1, workers: [worker("web.1")])], state: "stopping"))
                == ["the arbiter is shutting down"])
        // A reload stuck on one replacement past the budget.
        var stuck = reloading
        stuck.replacingForS = 61
        #expect(Readiness.reasons(snapshot([stuck]))
                == ["service web: a rolling reload has waited 61 s for one replacement to be ready (budget 60 s)"])
        stuck.replacingForS = 59
        #expect(Readiness.reasons(snapshot([stuck])).isEmpty)
    }

    @Test func aBindServesTheAddressesThatReachIt() throws {
        let wildcard = try Bind(parsing: ":8060")
        #expect(wildcard.serves(try Bind(parsing: "8060")))
        #expect(wildcard.serves(try Bind(parsing: "10.0.0.1:8060")))
        #expect(try Bind(parsing: "127.0.0.1:8060").serves(try Bind(parsing: ":8060")))
        #expect(!(try Bind(parsing: "127.0.0.1:8060").serves(try Bind(parsing: "10.0.0.1:8060"))))
        #expect(!wildcard.serves(try Bind(parsing: ":8070")))
        #expect(try Bind(parsing: "unix:/a").serves(try Bind(parsing: "unix:/a")))
        #expect(!(try Bind(parsing: "unix:/a").serves(try Bind(parsing: ":8060"))))
        #expect(Bind.tcp(host: "0.0.0.0", port: 6410).url(scheme: "redis") == "redis://127.0.0.1:6410")
    }
}
