import Foundation

/// The arbiter's answer to a `ControlCommand`: one JSON object per line.
public struct ControlResponse: Codable, Sendable {
    public var ok: Bool
    public var message: String?
    public var status: StatusSnapshot?
    /// For `logs`: the lines after the sequence number asked for.
    public var logs: [LogEntry]?
    /// For `inspect`: the requests the worker is serving, longest running first.
    public var inflight: [InflightRequest]?

    public init(ok: Bool, message: String? = nil, status: StatusSnapshot? = nil, logs: [LogEntry]? = nil,
                inflight: [InflightRequest]? = nil) {
        self.inflight = inflight
        self.ok = ok
        self.message = message
        self.status = status
        self.logs = logs
    }

    /// A refusal, in the words the operator reads.
    public static func refused(_ message: String) -> ControlResponse { ControlResponse(ok: false, message: message) }
}

/// A line of the merged log as the control socket sends it.
public struct LogEntry: Codable, Sendable, Equatable {
    public var seq: Int
    /// Seconds since 1970.
    public var time: Double
    public var source: String
    public var level: String
    public var text: String

    public init(seq: Int, time: Double, source: String, level: String, text: String) {
        self.seq = seq
        self.time = time
        self.source = source
        self.level = level
        self.text = text
    }
}

/// A request a worker is (or was) serving: `GET /report?year=2026`, and for how long.
public struct InflightRequest: Codable, Sendable, Equatable {
    public let request: String
    public let seconds: Double

    public init(request: String, seconds: Double) {
        self.request = request
        self.seconds = seconds
    }

    public var description: String { "\(request) (\(String(format: "%.1f", seconds))s)" }
}
