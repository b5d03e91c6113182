import Glibc
import Mailbox
import PulseControl

/// The control commands: what `pulse ctl`, `pulse top` and the dashboard's keys ask.
extension Arbiter {
    /// `origin` (`pulse ctl`, `dashboard`, `pulse top`) names the sender in the log.
    func handle(_ command: ControlCommand, origin: String = ControlOrigin.unnamed) -> ControlResponse {
        loop.preconditionInEventLoop()
        switch command {
        case .status:
            return ControlResponse(ok: true, status: snapshot())
        case .logs(let after):
            return ControlResponse(ok: true, logs: sink.entries(after: after))
        case .scale(let change, let service):
            return withService(service) { index in scale(service: index, change, command: command, origin: origin) }
        case .reload(let service), .restart(let service):
            return replaceWorkers(of: service, restart: command == .restart(service: service), origin: origin)
        case .mode(let mode, let service):
            let indices = targets(service)
            guard !indices.isEmpty else { return unknownService(service) }
            for index in indices { setMode(mode, serviceIndex: index, origin: origin) }
            return ControlResponse(ok: true, message: "\(names(indices)): \(mode.rawValue) mode", status: snapshot())
        case .autoscale(let bounds, let service):
            return withService(service) { index in setAutoscale(bounds, serviceIndex: index, origin: origin) }
        case .kill(let worker, let signal):
            return signalWorker(named: worker, signal, origin: origin)
        case .inspect(let name):
            guard let (_, _, pid) = worker(named: name) else { return unknownWorker(name) }
            return ControlResponse(ok: true, inflight: table[pid]?.scoreboard?.inflight() ?? [])
        case .stop(now: true):
            beginShutdown(.immediate, why: "\(origin): stop now")
            return ControlResponse(ok: true, message: "stopping at once")
        case .stop(now: false):
            beginShutdown(.graceful, why: "\(origin): stop")
            return ControlResponse(ok: true, message: "shutting down gracefully")
        }
    }

    /// The services a command names, or every one but the auxiliary ones.
    private func targets(_ service: String?) -> [Int] {
        service == nil ? monitors.indices.filter { !monitors[$0].auxiliary }
            : monitors.indices.filter { monitors[$0].name == service }
    }

    private func names(_ indices: [Int]) -> String {
        indices.map { monitors[$0].name }.joined(separator: ", ")
    }

    func withService(_ name: String?, _ body: (Int) -> ControlResponse) -> ControlResponse {
        if let name {
            guard let index = monitors.firstIndex(where: { $0.name == name }) else { return unknownService(name) }
            return body(index)
        }
        let candidates = targets(nil)
        guard candidates.count == 1 else {
            return .refused("several services run here; name one: \(names(candidates))")
        }
        return body(candidates[0])
    }

    private func unknownService(_ name: String?) -> ControlResponse {
        .refused("no service named '\(name ?? "")'; services: \(monitors.map(\.name).joined(separator: ", "))")
    }

    private func scale(service index: Int, _ change: ControlCommand.ScaleChange, command: ControlCommand, origin: String) -> ControlResponse {
        guard !monitors[index].auxiliary else {
            return .refused("\(monitors[index].name) runs as one process and is not scaled")
        }
        let count: Int
        switch change {
        case .by(let delta): count = monitors[index].target.addingReportingOverflow(delta).partialValue
        case .to(let absolute): count = absolute
        }
        let message = scale(serviceIndex: index, to: count)
        let fields = command.wireFields
        logger.info("\(origin): \(fields.command) \(fields.argument ?? ""): \(message)")
        return ControlResponse(ok: true, message: message, status: snapshot())
    }

    func scale(serviceIndex index: Int, to count: Int) -> String {
        let before = monitors[index].target
        monitors[index].setTarget(count)
        let after = monitors[index].target
        let limit = if let bounds = monitors[index].autoscaler?.bounds, !bounds.contains(count) {
            " (autoscale keeps it within \(bounds.min)-\(bounds.max))"
        } else {
            count < 1 ? " (never below 1)" : count > Monitor.maximumTarget ? " (at most \(Monitor.maximumTarget))" : ""
        }
        return "service \(monitors[index].name): \(after) workers (was \(before))\(limit)"
    }

    private func replaceWorkers(of service: String?, restart: Bool, origin: String) -> ControlResponse {
        let indices = targets(service)
        guard !indices.isEmpty else { return unknownService(service) }
        let word = restart ? "restart" : "reload"
        for index in indices {
            if restart { monitors[index].restart() } else { monitors[index].reload() }
            logger.info("\(origin): \(word): replacing the workers of \(monitors[index].name) one at a time")
        }
        reloadStarted()
        return ControlResponse(ok: true, message: "\(word) started for \(names(indices))", status: snapshot())
    }

    /// Switches a service's execution mode: running workers at once (for new
    /// requests), and every worker spawned later.
    private func setMode(_ mode: ExecutionMode, serviceIndex index: Int, origin: String) {
        let before = monitors[index].mode
        monitors[index].mode = mode
        logger.info("\(origin): service \(monitors[index].name): execution mode \(before.rawValue) -> \(mode.rawValue)")
        for worker in monitors[index].orderedWorkers where worker.isLive {
            if let pid = worker.pid { send(.mode(mode), to: pid) }
        }
    }

    /// A live worker by name (`web.2`) or pid: its service, slot and pid.
    private func worker(named name: String) -> (service: Int, id: Int, pid: Int32)? {
        for index in monitors.indices {
            for worker in monitors[index].orderedWorkers
            where "\(monitors[index].name).\(worker.id)" == name || worker.pid.map(String.init) == name {
                guard let pid = worker.pid else { return nil }
                return (index, worker.id, pid)
            }
        }
        return nil
    }

    private func unknownWorker(_ name: String) -> ControlResponse {
        .refused("no worker named '\(name)': use a name from `pulse ctl status`, such as web.1")
    }

    /// TERM drains the worker (killed if it outlives the graceful timeout), QUIT
    /// ends it at once, KILL has the kernel end it. Its slot is filled again.
    private func signalWorker(named name: String, _ signal: WorkerSignal, origin: String) -> ControlResponse {
        guard let (index, id, pid) = worker(named: name) else { return unknownWorker(name) }
        let worker = "\(monitors[index].name).\(id)"
        logger.warning("\(origin): kill: SIG\(signal.rawValue) to worker \(worker) (pid \(pid))")
        Glibc.kill(pid, signal.number)
        let deadline: Double? = signal == .kill ? nil : Self.now() + configuration.gracefulTimeout + configuration.killGrace
        monitors[index].markKilled(id: id, intent: .operatorKill, killAt: deadline)
        return ControlResponse(ok: true, message: "sent SIG\(signal.rawValue) to \(worker) (pid \(pid))")
    }
}
