import Mailbox
import PulseControl

/// Autoscaling as part of a service's supervision: the monitor knows which workers
/// are ready and whether a rolling replacement runs, so it feeds its `Autoscaler`.
extension Monitor {
    /// Turns autoscaling on within `bounds` (the target moves into them) or, with
    /// nil, off (the target stays where it is). New bounds keep the last decision.
    public mutating func setAutoscale(_ bounds: AutoscaleBounds?) {
        guard let bounds else {
            autoscaler = nil
            return
        }
        if autoscaler == nil { autoscaler = Autoscaler(bounds: bounds) } else { autoscaler?.bounds = bounds }
        setTarget(target)
    }

    /// One observation of the ready workers' load; a decision is returned, not
    /// applied: the arbiter scales through its usual path, and logs it.
    public mutating func autoscale(now: Double) -> Autoscaler.Decision? {
        guard var scaler = autoscaler, state == .running, !auxiliary else { return nil }
        let ready = orderedWorkers.filter { $0.isLive && $0.state == .ready && $0.id != replacement?.old }
        let replacing = replacement != nil || !replacementQueue.isEmpty
        let decision = scaler.observe(ready.map(\.report), mode: mode, target: target, replacing: replacing, now: now)
        autoscaler = scaler
        return decision
    }
}
