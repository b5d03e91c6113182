import PulseControl

/// What `--metrics` answers, from the status snapshot (see `MetricsServer`).
extension Arbiter {
    /// `--metrics`: the exposition and the health checks, from the status.
    func answerMetrics(method: String, path: String) -> MetricsServer.Answer {
        switch path {
        case "/metrics":
            return .init(status: 200, contentType: PrometheusExposition.contentType, body: PrometheusExposition.render(snapshot()))
        case "/healthz":
            return .init(status: 200, contentType: "application/json", body: "{\"alive\":true}\n")
        case "/readyz":
            let reasons = Readiness.reasons(snapshot())
            let json = (try? ControlCodec.encode(ReadyAnswer(ready: reasons.isEmpty, reasons: reasons))) ?? []
            return .init(status: reasons.isEmpty ? 200 : 503, contentType: "application/json", body: String(decoding: json, as: UTF8.self))
        default:
            return .init(status: 404, contentType: "text/plain", body: "not found: try /metrics, /healthz or /readyz\n")
        }
    }

    private struct ReadyAnswer: Encodable {
        let ready: Bool
        let reasons: [String]
    }
}
