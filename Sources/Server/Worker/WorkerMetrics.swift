import Histogram
import Mailbox
import NIOCore

/// The figures a worker reports with each heartbeat: totals since it started, and
/// response times over the last interval. Confined to the worker's event loop.
struct WorkerMetrics {
    private(set) var report = WorkerReport()
    /// Response times of the current heartbeat interval, in microseconds.
    private var latencies = Self.noLatencies
    /// An empty histogram: each interval starts from a copy (its counts are copied
    /// on the first write, with memcpy). Histogram.reset() zeroes its counts one by
    /// one through generic code: about 2.7 million instructions a second.
    ///
    /// Two significant digits (a value is off by at most 0.8%: 3.02 ms for 3.00,
    /// plenty for a dashboard and a heartbeat) keep 3,328 counts rather than 23,552: each
    /// `valueAtPercentile`, unspecialised and walking the counts from the first,
    /// reaches a p99 of 3 ms in ~700 steps, not ~2,500. With three
    /// digits the heartbeat's three percentiles took about 2 million instructions
    /// under load, 3,000 per request in thread mode under callgrind.
    private static let noLatencies = Histogram<UInt64>(highestTrackableValue: 3_600_000_000,
                                                       numberOfSignificantValueDigits: .two)
    private var lastBeat = NIODeadline.now()

    var inflight: Int { report.inflight }
    var requests: Int { report.requests }

    mutating func requestStarted() { report.inflight += 1 }

    mutating func requestFinished(status: Int, seconds: Double, bytesOut: Int) {
        report.inflight -= 1
        report.requests += 1
        report.bytesOut += bytesOut
        let seconds = min(max(0, seconds), 3600)
        _ = latencies.record(UInt64(seconds * 1_000_000))
        let bounds = WorkerReport.latencyBucketBounds
        let bucket = bounds.firstIndex { seconds <= $0 } ?? bounds.count
        if report.latencyBuckets == nil { report.latencyBuckets = Array(repeating: 0, count: bounds.count + 1) }
        report.latencyBuckets?[bucket] += 1
        report.latencySumS = (report.latencySumS ?? 0) + seconds
        report.statusClasses[min(max(status / 100, 1), 5) - 1] += 1
    }

    mutating func bytesReceived(_ count: Int) { report.bytesIn += count }
    mutating func bytesSent(_ count: Int) { report.bytesOut += count }

    /// Closes the interval: how late this beat is, the connection count, and the
    /// latency percentiles, which start again from empty.
    mutating func beat(interval: TimeAmount, connections: Int) -> WorkerReport {
        let now = NIODeadline.now()
        report.loopLagMs = Double(max(0, (now - lastBeat - interval).nanoseconds)) / 1_000_000
        lastBeat = now
        report.connections = connections
        return report
    }

    /// The latency percentiles of the interval, for an HTTP worker.
    mutating func takeLatencies() -> LatencySummary {
        defer { latencies = Self.noLatencies }
        return LatencySummary(microseconds: latencies)
    }
}
