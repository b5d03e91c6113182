import Foundation
import Mailbox
import PulseControl
import Testing

/// The control vocabulary on the wire: the documented JSON form both ways, and the
/// refusals the operator reads.
@Suite struct ControlCommandTests {
    func decode(_ json: String) -> Result<ControlCommand, ControlCommandError> {
        ControlCodec.decodeCommand(from: Array(json.utf8)).map(\.0)
    }

    @Test func theWireFormReadsIntoCommands() throws {
        #expect(try decode(#"{"command": "status"}"#).get() == .status)
        #expect(try decode(#"{"command": "scale", "argument": "+2", "service": "web"}"#).get() == .scale(.by(2), service: "web"))
        #expect(try decode(#"{"command": "scale", "argument": "-1"}"#).get() == .scale(.by(-1), service: nil))
        #expect(try decode(#"{"command": "scale", "argument": "3"}"#).get() == .scale(.to(3), service: nil))
        #expect(try decode(#"{"command": "workers", "argument": "4", "service": "api"}"#).get() == .scale(.to(4), service: "api"))
        #expect(try decode(#"{"command": "mode", "argument": "cooperative"}"#).get() == .mode(.cooperative, service: nil))
        #expect(try decode(#"{"command": "logs", "argument": "120"}"#).get() == .logs(after: 120))
        #expect(try decode(#"{"command": "kill", "argument": "web.2"}"#).get() == .kill(worker: "web.2"))
        #expect(try decode(#"{"command": "stop", "argument": "now"}"#).get() == .stop(now: true))
        #expect(try decode(#"{"command": "stop"}"#).get() == .stop(now: false))
        #expect(try decode(#"{"command": "restart", "service": "web"}"#).get() == .restart(service: "web"))
        #expect(try decode(#"{"command": "kill", "argument": "web.2", "signal": "TERM"}"#).get() == .kill(worker: "web.2", signal: .term))
        #expect(try decode(#"{"command": "kill", "argument": "web.2", "signal": "sigquit"}"#).get() == .kill(worker: "web.2", signal: .quit))
        #expect(try decode(#"{"command": "kill", "argument": "7", "signal": "9"}"#).get() == .kill(worker: "7", signal: .kill))
        #expect(try decode(#"{"command": "inspect", "argument": "web.1"}"#).get() == .inspect(worker: "web.1"))
        #expect(try decode(#"{"command": "autoscale", "argument": "1:4", "service": "web"}"#).get()
                == .autoscale(AutoscaleBounds(min: 1, max: 4), service: "web"))
        #expect(try decode(#"{"command": "autoscale", "argument": "off"}"#).get() == .autoscale(nil, service: nil))
    }

    @Test func autoscaleWritesItsBoundsAsTheOperatorDoes() throws {
        let line = try ControlCodec.encode(ControlCommand.autoscale(AutoscaleBounds(min: 2, max: 6), service: "web"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: String])
        #expect(object == ["command": "autoscale", "argument": "2:6", "service": "web"])
        #expect(ControlCommand.autoscale(nil, service: nil).wireFields.argument == "off")
    }

    @Test func everyCommandSurvivesTheRoundTrip() throws {
        let commands: [ControlCommand] = [
            .status, .logs(after: 7), .scale(.by(-2), service: "web"), .scale(.by(3), service: nil),
            .scale(.to(5), service: "api"), .mode(.thread, service: "web"), .reload(service: nil),
            .restart(service: "web"), .kill(worker: "web.1"), .stop(now: true), .stop(now: false),
            .kill(worker: "web.2", signal: .term), .kill(worker: "web.3", signal: .quit), .inspect(worker: "web.1"),
            .autoscale(AutoscaleBounds(min: 1, max: 4), service: "web"), .autoscale(nil, service: nil),
        ]
        for command in commands {
            let line = try ControlCodec.encode(command)
            #expect(line.last == UInt8(ascii: "\n"))
            #expect(try ControlCodec.decodeCommand(from: line.dropLast()).get().0 == command)
            // With an origin, the same command, and the origin for the log.
            let signed = try ControlCodec.encode(command, origin: "deploy \"blue\"")
            let decoded = try ControlCodec.decodeCommand(from: signed.dropLast()).get()
            #expect(decoded.0 == command && decoded.origin == "deploy \"blue\"")
        }
        #expect(try ControlCodec.decodeCommand(from: Array(#"{"command": "status"}"#.utf8)).get().origin == ControlOrigin.unnamed)
    }

    @Test func badArgumentsAreRefusedInTheOperatorsWords() {
        let cases: [(String, String)] = [
            (#"{"command": "mode", "argument": "turbo"}"#, "mode needs thread or cooperative"),
            (#"{"command": "scale", "argument": "lots"}"#, "scale needs a number"),
            (#"{"command": "scale"}"#, "scale needs a number"),
            (#"{"command": "workers", "argument": "0"}"#, "workers must be at least 1"),
            (#"{"command": "kill"}"#, "kill needs a worker"),
            (#"{"command": "kill", "argument": "web.1", "signal": "HUP"}"#, "kill sends TERM, QUIT or KILL, not 'HUP'"),
            (#"{"command": "inspect"}"#, "inspect needs a worker"),
            (#"{"command": "autoscale", "argument": "3:1"}"#, "autoscale needs MIN:MAX"),
            (#"{"command": "autoscale", "argument": "0:2"}"#, "autoscale needs MIN:MAX"),
            (#"{"command": "autoscale", "argument": "many"}"#, "autoscale needs MIN:MAX"),
            (#"{"command": "autoscale"}"#, "autoscale needs MIN:MAX"),
            (#"{"command": "dance"}"#, "unknown command 'dance'"),
            (#"{"verb": "status"}"#, "malformed request"),
            ("not json", "malformed request"),
            (#"{"command": "scale", "argument": "+99999999999999999999999"}"#, "scale needs a number"),
        ]
        for (json, words) in cases {
            guard case .failure(let error) = decode(json) else {
                Issue.record("\(json) was accepted")
                continue
            }
            #expect(error.description.contains(words), "\(json): \(error)")
        }
    }
}

/// A service's autoscaling in the status, as scripts read it.
@Suite struct AutoscaleStatusTests {
    @Test func itsFieldsAreSnakeCaseAndAbsentWhenOff() throws {
        var service = ServiceStatus(name: "web", binds: [], urls: [], targetWorkers: 3, mode: .thread, auxiliary: false,
                                    liveWorkers: 3, state: .running, consecutiveFailures: 0, nextSpawnInS: nil,
                                    workers: [], recentExits: [])
        let off = try #require(try JSONSerialization.jsonObject(with: Data(ControlCodec.encode(service))) as? [String: Any])
        #expect(off["autoscale"] == nil)
        service.autoscale = AutoscaleStatus(min: 1, max: 4, lastDecision: "2 -> 3 workers: pool 20/20 busy, queue 35, for 3 s",
                                            lastDecisionAgeS: 1.5)
        let on = try #require(try JSONSerialization.jsonObject(with: Data(ControlCodec.encode(service))) as? [String: Any])
        let autoscale = try #require(on["autoscale"] as? [String: Any])
        #expect(autoscale["min"] as? Int == 1 && autoscale["max"] as? Int == 4)
        #expect(autoscale["last_decision"] as? String == "2 -> 3 workers: pool 20/20 busy, queue 35, for 3 s")
        #expect(autoscale["last_decision_age_s"] as? Double == 1.5)
        #expect(try ControlCodec.decode(ServiceStatus.self, from: ControlCodec.encode(service)).autoscale == service.autoscale)
    }
}

/// A worker's status carries its heartbeat whole, flat in JSON.
@Suite struct WorkerStatusTests {
    func sample() -> WorkerStatus {
        var report = WorkerReport()
        report.requests = 42
        report.statusClasses = [0, 40, 0, 2, 0]
        report.threads = PoolOccupancy(busy: 3, size: 10)
        report.latencyMs = LatencySummary(p50: 1, p90: 2, p99: 3, max: 4)
        report.database = DatabaseFigures(inUse: 1, size: 4, waiting: 0)
        return WorkerStatus(id: 2, name: "web.2", pid: 4321, state: .ready, intent: nil, uptimeS: 1.5, rps: 12,
                            lastHeartbeatMs: 300, restarts: 1, rssBytes: 1 << 20, cpuPercent: 2.5, report: report)
    }

    @Test func heartbeatFieldsSitBesideTheArbitersInJSON() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(ControlCodec.encode(sample()))) as? [String: Any])
        #expect(object["requests"] as? Int == 42)
        #expect(object["status_classes"] as? [Int] == [0, 40, 0, 2, 0])
        #expect((object["threads"] as? [String: Int])?["busy"] == 3)
        #expect((object["database"] as? [String: Int])?["in_use"] == 1)
        #expect(object["pid"] as? Int == 4321)
        #expect(object["last_heartbeat_ms"] as? Int == 300)
        #expect(object["report"] == nil)
    }

    @Test func decodingGivesBackTheSameWorker() throws {
        let decoded = try ControlCodec.decode(WorkerStatus.self, from: try ControlCodec.encode(sample()))
        #expect(decoded.report == sample().report)
        #expect(decoded.requests == 42)
        #expect(decoded.name == "web.2" && decoded.pid == 4321 && decoded.state == .ready && decoded.restarts == 1)
    }
}
