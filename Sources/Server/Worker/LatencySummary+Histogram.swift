import Histogram
import Mailbox

extension LatencySummary {
    /// Percentiles, in milliseconds, of response times recorded in microseconds;
    /// all zero when nothing was recorded.
    public init(microseconds histogram: Histogram<UInt64>) {
        guard histogram.totalCount > 0 else {
            self.init(p50: 0, p90: 0, p99: 0, max: 0)
            return
        }
        let millis = { (micros: UInt64) in Double(micros) / 1000 }
        self.init(p50: millis(histogram.valueAtPercentile(50)), p90: millis(histogram.valueAtPercentile(90)),
                  p99: millis(histogram.valueAtPercentile(99)), max: millis(histogram.max))
    }
}
