import PulseControl

/// Autoscaling as the arbiter carries it out: each second the monitors of the
/// autoscaled services look at their workers' load, and a decision goes through
/// the same path as `pulse ctl scale` (a worker removed is drained).
extension Arbiter {
    /// Once a second, with the `/proc` samples.
    func autoscale(now: Double) {
        guard lifecycle.isRunning else { return }
        for index in monitors.indices {
            guard let decision = monitors[index].autoscale(now: now) else { continue }
            _ = scale(serviceIndex: index, to: decision.to)
            logger.info("autoscale \(monitors[index].name): \(decision)")
        }
    }

    /// `pulse ctl autoscale MIN:MAX` and `autoscale off`.
    func setAutoscale(_ bounds: AutoscaleBounds?, serviceIndex index: Int, origin: String) -> ControlResponse {
        let name = monitors[index].name
        guard !monitors[index].auxiliary else { return .refused("\(name) runs as one process and is not scaled") }
        if let bounds, bounds.max > Monitor.maximumTarget {
            return .refused("autoscale: at most \(Monitor.maximumTarget) workers (got \(bounds))")
        }
        let message = applyAutoscale(bounds, serviceIndex: index)
        logger.info("\(origin): autoscale \(bounds?.description ?? "off"): \(message)")
        return ControlResponse(ok: true, message: message, status: snapshot())
    }

    /// Turns autoscaling on or off for a service; says what became of it.
    func applyAutoscale(_ bounds: AutoscaleBounds?, serviceIndex index: Int) -> String {
        let name = monitors[index].name
        let before = monitors[index].target
        monitors[index].setAutoscale(bounds)
        let after = monitors[index].target
        guard let bounds else { return "service \(name): autoscale off, \(after) workers" }
        let moved = after == before ? "" : " (was \(before), moved into the bounds)"
        return "service \(name): autoscale \(bounds.min)-\(bounds.max), \(after) workers\(moved)"
    }

    /// The SIGHUP re-read: a service whose `--autoscale` changed in the
    /// configuration takes the new bounds (or none).
    func rereadAutoscale(_ fresh: ArbiterConfiguration) -> [String] {
        var changes: [String] = []
        for service in fresh.services where !service.auxiliary {
            guard let index = configuration.services.firstIndex(where: { $0.name == service.name }),
                  configuration.services[index].autoscale != service.autoscale else { continue }
            changes.append(applyAutoscale(service.autoscale, serviceIndex: index))
            configuration.services[index].autoscale = service.autoscale
        }
        return changes
    }

    func autoscaleStatus(of index: Int, now: Double) -> AutoscaleStatus? {
        guard let scaler = monitors[index].autoscaler else { return nil }
        return AutoscaleStatus(min: scaler.bounds.min, max: scaler.bounds.max,
                               lastDecision: scaler.lastDecision?.description,
                               lastDecisionAgeS: scaler.lastDecision.map { now - $0.at })
    }
}
