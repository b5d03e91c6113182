import Arbiter
import PulseControl
import Testing

@Suite struct ParsingTests {
    @Test func procStatWithSpacesInTheName() {
        let line = "1234 (pulse: worker web.1) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 1000000 2048 18446744073709551615"
        let stats = ProcessStats.parse(stat: line, pageSize: 4096, clockTicks: 100)
        #expect(stats == ProcessStats(rssBytes: 2048 * 4096, cpuSeconds: 3))
        #expect(ProcessStats.parse(stat: "garbage", pageSize: 4096, clockTicks: 100) == nil)
    }

    @Test func workerOutputKeepsItsLevel() {
        let tagged = LogLine.parse(workerOutput: "[warning] disk almost full", source: "web.1", fallback: .info)
        #expect(tagged.level == .warning && tagged.text == "disk almost full" && tagged.source == "web.1")
        let raw = LogLine.parse(workerOutput: "Fatal error: boom", source: "web.2", fallback: .error)
        #expect(raw.level == .error && raw.text == "Fatal error: boom")
        let bracketed = LogLine.parse(workerOutput: "[not a level] x", source: "web.2", fallback: .info)
        #expect(bracketed.text == "[not a level] x")
    }
}
