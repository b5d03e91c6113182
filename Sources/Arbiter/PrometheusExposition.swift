import Mailbox
import PulseControl

/// The status as Prometheus's text exposition format (version 0.0.4): what
/// `GET /metrics` on `--metrics` answers.
///
/// Pure, from the `StatusSnapshot` the arbiter already builds for `pulse ctl`:
/// every figure is the workers' last heartbeat or the arbiter's own books, so a
/// scrape costs the workers nothing. Worker series carry `service` and `worker`
/// labels (`web.2`); a replaced worker's counters start again from 0 under the same
/// label, which `rate()` reads as a counter reset.
public enum PrometheusExposition {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ status: StatusSnapshot) -> String {
        var out = Exposition()
        out.family("pulse_arbiter_uptime_seconds", "gauge", "Seconds since the arbiter started.") {
            $0.sample([:], status.arbiter.uptimeS)
        }
        out.family("pulse_arbiter_stopping", "gauge", "1 while the arbiter shuts down.") {
            $0.sample([:], status.arbiter.state == "running" ? 0 : 1)
        }
        let services = status.services
        out.family("pulse_service_workers_target", "gauge", "Workers the service is asked to run.") { family in
            for service in services { family.sample(["service": service.name], Double(service.targetWorkers)) }
        }
        out.family("pulse_service_workers", "gauge", "Worker processes, by state.") { family in
            for service in services {
                for state in [WorkerState.booting, .ready, .draining] {
                    family.sample(["service": service.name, "state": state.rawValue],
                                  Double(service.workers.filter { $0.state == state }.count))
                }
            }
        }
        out.family("pulse_service_state", "gauge", "1 for the state the service is in.") { family in
            for service in services {
                for state in [ServiceState.running, .errored, .stopping] {
                    family.sample(["service": service.name, "state": state.rawValue], service.state == state ? 1 : 0)
                }
            }
        }
        out.family("pulse_service_mode", "gauge", "1 for the execution mode new requests start in.") { family in
            for service in services {
                for mode in [ExecutionMode.thread, .cooperative] {
                    family.sample(["service": service.name, "mode": mode.rawValue], service.mode == mode ? 1 : 0)
                }
            }
        }
        out.family("pulse_service_reloads_total", "counter", "Rolling reloads and restarts since the arbiter started.") { family in
            for service in services { family.sample(["service": service.name], Double(service.reloads ?? 0)) }
        }
        out.family("pulse_service_worker_exits_total", "counter", "Worker exits since the arbiter started, by kind.") { family in
            for service in services {
                for (kind, count) in (service.exits ?? [:]).sorted(by: { $0.key < $1.key }) {
                    family.sample(["service": service.name, "kind": kind], Double(count))
                }
            }
        }

        let workers = services.flatMap { service in service.workers.map { (service.name, $0) } }
        func perWorker(_ name: String, _ type: String, _ help: String, _ value: (WorkerStatus) -> Double?) {
            out.family(name, type, help) { family in
                for (service, worker) in workers {
                    if let value = value(worker) { family.sample(["service": service, "worker": worker.name], value) }
                }
            }
        }
        out.family("pulse_worker_requests_total", "counter", "Requests answered, by status class.") { family in
            for (service, worker) in workers {
                for (index, count) in worker.statusClasses.prefix(5).enumerated() {
                    family.sample(["service": service, "worker": worker.name, "code": "\(index + 1)xx"], Double(count))
                }
            }
        }
        out.family("pulse_worker_request_duration_seconds", "histogram", "Response times since the worker started.") { family in
            for (service, worker) in workers {
                guard let buckets = worker.latencyBuckets else { continue }
                let labels = ["service": service, "worker": worker.name]
                var cumulative = 0
                for (index, count) in buckets.enumerated() {
                    cumulative += count
                    let bound = index < WorkerReport.latencyBucketBounds.count ? "\(WorkerReport.latencyBucketBounds[index])" : "+Inf"
                    family.sample(labels.merging(["le": bound]) { $1 }, Double(cumulative), suffix: "_bucket")
                }
                family.sample(labels, worker.latencySumS ?? 0, suffix: "_sum")
                family.sample(labels, Double(cumulative), suffix: "_count")
            }
        }
        perWorker("pulse_worker_requests_in_flight", "gauge", "Requests being handled.") { Double($0.inflight) }
        perWorker("pulse_worker_connections", "gauge", "Open client connections.") { Double($0.connections) }
        perWorker("pulse_worker_websockets", "gauge", "Open WebSockets.") { $0.websockets.map(Double.init) }
        perWorker("pulse_worker_received_bytes_total", "counter", "Bytes read from clients.") { Double($0.bytesIn) }
        perWorker("pulse_worker_sent_bytes_total", "counter", "Bytes written to clients.") { Double($0.bytesOut) }
        perWorker("pulse_worker_loop_lag_seconds", "gauge", "How late the worker's last heartbeat timer fired.") { $0.loopLagMs / 1000 }
        perWorker("pulse_worker_queue_depth", "gauge", "Requests waiting for a thread or a task slot.") { $0.queue.map(Double.init) }
        perWorker("pulse_worker_threads_busy", "gauge", "Busy threads of the thread pool.") { $0.threads.map { Double($0.busy) } }
        perWorker("pulse_worker_threads", "gauge", "Threads of the thread pool.") { $0.threads.map { Double($0.size) } }
        perWorker("pulse_worker_green_busy", "gauge", "Cooperative request slots in use.") { $0.green.map { Double($0.busy) } }
        perWorker("pulse_worker_green", "gauge", "Cooperative request slots.") { $0.green.map { Double($0.size) } }
        perWorker("pulse_worker_resident_memory_bytes", "gauge", "Resident memory of the worker process.") { Double($0.rssBytes) }
        perWorker("pulse_worker_cpu_ratio", "gauge", "CPU used over the last second, 1 being one core.") { $0.cpuPercent / 100 }
        perWorker("pulse_worker_uptime_seconds", "gauge", "Seconds since the worker was spawned.") { $0.uptimeS }
        perWorker("pulse_worker_heartbeat_age_seconds", "gauge", "Seconds since the worker's last heartbeat.") { Double($0.lastHeartbeatMs) / 1000 }
        perWorker("pulse_worker_restarts_total", "counter", "Unplanned exits of the worker's slot since the arbiter started.") { Double($0.restarts) }
        perWorker("pulse_worker_db_connections_in_use", "gauge", "PostgreSQL connections checked out.") { $0.database.map { Double($0.inUse) } }
        perWorker("pulse_worker_db_connections", "gauge", "PostgreSQL connections open or allowed.") { $0.database.map { Double($0.size) } }
        perWorker("pulse_worker_db_waiting", "gauge", "Callers waiting for a PostgreSQL connection.") { $0.database.map { Double($0.waiting) } }
        perWorker("pulse_worker_data_store_reachable", "gauge", "1 when the app reached the data store on its last attempt.") {
            $0.dataStoreReachable.map { $0 ? 1 : 0 }
        }
        perWorker("pulse_data_store_keys", "gauge", "Keys in the embedded data store.") { $0.dataStore.map { Double($0.keys) } }
        perWorker("pulse_data_store_channels", "gauge", "Pub/sub channels with subscribers.") { $0.dataStore.map { Double($0.channels) } }
        perWorker("pulse_data_store_subscribers", "gauge", "Pub/sub subscriptions.") { $0.dataStore.map { Double($0.subscribers) } }
        return out.text
    }
}

/// Writes families: `# HELP`, `# TYPE`, then the samples.
private struct Exposition {
    var text = ""

    struct Family {
        let name: String
        var lines = ""

        mutating func sample(_ labels: [String: String], _ value: Double, suffix: String = "") {
            lines += name + suffix
            if !labels.isEmpty {
                // `le` last, the rest by name: stable output, as client libraries write it.
                let ordered = labels.sorted { ($0.key == "le" ? 1 : 0, $0.key) < ($1.key == "le" ? 1 : 0, $1.key) }
                lines += "{" + ordered.map { "\($0.key)=\"\(Self.escape($0.value))\"" }.joined(separator: ",") + "}"
            }
            lines += " " + Self.format(value) + "\n"
        }

        static func escape(_ value: String) -> String {
            var escaped = ""
            for character in value {
                switch character {
                case "\\": escaped += "\\\\"
                case "\"": escaped += "\\\""
                case "\n": escaped += "\\n"
                default: escaped.append(character)
                }
            }
            return escaped
        }

        static func format(_ value: Double) -> String {
            if value.isNaN { return "NaN" }
            if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
            if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
            return "\(value)"
        }
    }

    mutating func family(_ name: String, _ type: String, _ help: String, _ body: (inout Family) -> Void) {
        var family = Family(name: name)
        body(&family)
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" + family.lines
    }
}

/// What `/readyz` checks: the arbiter runs, and every service runs (not errored,
/// not stopping) with at least its target of ready workers. A rolling reload stays
/// ready (an old worker and its replacement count once, and one of them serves)
/// unless one replacement has taken longer than `replacementBudget` seconds: its new
/// worker keeps failing to boot, and the deploy behind it should not go on.
public enum Readiness {
    public static let replacementBudget = 60.0

    /// Why the arbiter is not ready; empty when it is.
    public static func reasons(_ status: StatusSnapshot, replacementBudget: Double = replacementBudget) -> [String] {
        var reasons: [String] = []
        if status.arbiter.state != "running" { reasons.append("the arbiter is shutting down") }
        for service in status.services {
            switch service.state {
            case .errored: reasons.append("service \(service.name) is errored: its workers fail to boot")
            case .stopping: reasons.append("service \(service.name) is stopping")
            case .running:
                let ready = service.workers.filter { $0.state == .ready }.count
                if ready < service.targetWorkers {
                    reasons.append("service \(service.name) has \(ready) of \(service.targetWorkers) workers ready")
                }
                if let waited = service.replacingForS, waited > replacementBudget {
                    reasons.append("service \(service.name): a rolling reload has waited \(Int(waited)) s for one replacement to be ready (budget \(Int(replacementBudget)) s)")
                }
            }
        }
        return reasons
    }
}
