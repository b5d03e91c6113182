import Histogram
import Mailbox
import Server
import Testing

@Suite struct LatencySummaryTests {
    @Test func percentilesInMillisecondsFromMicroseconds() {
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        for micros in 1...100 { _ = histogram.record(UInt64(micros) * 1000) }   // 1 ms ... 100 ms
        let summary = LatencySummary(microseconds: histogram)
        #expect(abs(summary.p50 - 50) < 0.5)
        #expect(abs(summary.p90 - 90) < 0.5)
        #expect(abs(summary.p99 - 99) < 0.5)
        #expect(abs(summary.max - 100) < 0.5)
    }

    @Test func nothingRecordedIsAllZero() {
        let empty = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        #expect(LatencySummary(microseconds: empty) == LatencySummary(p50: 0, p90: 0, p99: 0, max: 0))
    }
}
