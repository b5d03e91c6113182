import Dispatch
import Glibc
import NIOCore

/// One handler per signal, as gunicorn's arbiter has. Dispatch sources only enqueue
/// onto the loop; the handlers run there.
extension Arbiter {
    func installSignalHandlers() {
        let bound = NIOLoopBound(self, eventLoop: loop)
        let loop = self.loop
        for signalNumber in [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU, SIGUSR1] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { loop.execute { bound.value.handle(signal: signalNumber) } }
            source.resume()
            signalSources.append(source)
        }
    }

    func handle(signal signalNumber: Int32) {
        switch signalNumber {
        case SIGTERM: handleTERM()
        case SIGINT: handleINT()
        case SIGQUIT: handleQUIT()
        case SIGHUP: handleHUP()
        case SIGTTIN: handleTTIN()
        case SIGTTOU: handleTTOU()
        case SIGUSR1: handleUSR1()
        default: break
        }
    }

    /// Graceful shutdown: workers stop accepting, finish what is in flight, exit.
    func handleTERM() {
        beginShutdown(.graceful, why: "SIGTERM")
    }

    /// Graceful shutdown the first time (a terminal's Ctrl-C); at once the second.
    func handleINT() {
        beginShutdown(lifecycle.isRunning ? .graceful : .immediate, why: "SIGINT")
    }

    /// Stop at once: workers get SIGQUIT, and SIGKILL if they linger.
    func handleQUIT() {
        beginShutdown(.immediate, why: "SIGQUIT")
    }

    /// Rolling reload of every service but the auxiliary ones: each worker replaced
    /// by one spawned from the executable as it is on disk now, new one ready first.
    ///
    /// Unless the signal is the kernel's, for a terminal that hung up (its window
    /// closed, the ssh session lost): the arbiter that ran on it shuts down
    /// gracefully rather than live on orphaned and holding the ports, or, if the
    /// operator detached the dashboard, goes on with its output sent nowhere.
    func handleHUP() {
        if terminalHungUp {
            guard !dashboard.detached else {
                if !outputDetached {
                    outputDetached = true
                    logger.notice("SIGHUP: the terminal hung up; the dashboard was detached, so the server runs on")
                    sink.setStderr(false)
                    detachFromTerminal()
                }
                return
            }
            beginShutdown(.graceful, why: "SIGHUP: the terminal hung up")
            return
        }
        rereadConfiguration()
        logger.info("SIGHUP: rolling reload of every service")
        for index in monitors.indices where !monitors[index].auxiliary { monitors[index].reload() }
        reloadStarted()
    }

    /// Reopens the log file by its name, as nginx, gunicorn and puma do, so logrotate
    /// can move it away without `copytruncate`.
    func handleUSR1() {
        // Workers write their access logs themselves.
        for monitor in monitors {
            for worker in monitor.orderedWorkers where worker.isLive {
                if let pid = worker.pid { send(.reopenLogs, to: pid) }
            }
        }
        guard let path = sink.filePath else {
            logger.info("SIGUSR1: no --log-file to reopen")
            return
        }
        do {
            try sink.reopen()
            logger.info("SIGUSR1: reopened the log file \(path)")
        } catch {
            logger.error("SIGUSR1: \(error); still writing to the file that was open")
        }
    }

    /// One worker more for the first service.
    func handleTTIN() {
        scaleFirstService(by: 1, signal: "SIGTTIN")
    }

    /// One worker fewer for the first service, never below one.
    func handleTTOU() {
        scaleFirstService(by: -1, signal: "SIGTTOU")
    }

    private func scaleFirstService(by delta: Int, signal: String) {
        guard let index = monitors.firstIndex(where: { !$0.auxiliary }) else { return }
        logger.info("\(signal): \(scale(serviceIndex: index, to: monitors[index].target &+ delta))")
    }
}

extension Arbiter {
    /// The arbiter started with a terminal for its output, and it is gone: a hung-up
    /// terminal answers every terminal call with EIO, so it is no longer a tty.
    var terminalHungUp: Bool { startedOnTerminal && isatty(1) == 0 }

    /// Points standard input, output and error at /dev/null, so nothing waits on or
    /// writes to a terminal that is gone.
    func detachFromTerminal() {
        let null = open("/dev/null", O_RDWR)
        guard null >= 0 else { return }
        for fd in Int32(0)...2 { dup2(null, fd) }
        if null > 2 { close(null) }
    }
}

extension Arbiter {
    /// SIGHUP reads `--config` and the `PULSE_*` variables again. What the rolling
    /// reload can carry (worker counts, autoscaling, timeouts, limits, mode, every worker
    /// setting) takes effect now and in the new workers; what needs a restart
    /// (addresses, the control socket, the log file) is logged and left as it is.
    /// A configuration that does not read keeps the running one.
    func rereadConfiguration() {
        guard let reread = configuration.reread else { return }
        let fresh: ArbiterConfiguration
        switch reread() {
        case .success(let read): fresh = read
        case .failure(let error):
            logger.error("SIGHUP: the configuration does not read, keeping the running one: \(error)")
            return
        }
        var changes = rereadAutoscale(fresh)
        for service in fresh.services {
            guard let index = monitors.firstIndex(where: { $0.name == service.name }) else { continue }
            let old = configuration.services[index]
            if service.workers != old.workers, service.workers != monitors[index].target, !service.auxiliary {
                changes.append(scale(serviceIndex: index, to: service.workers))
            }
            if service.binds != old.binds, !old.portMayMove || service.binds.count != old.binds.count {
                logger.warning("SIGHUP: service \(service.name) would listen at \(service.binds.map(\.description).joined(separator: " ")); addresses change with a restart, it stays at \(monitors[index].binds.map(\.description).joined(separator: " "))")
            }
        }
        if fresh.workerSettings.mode != configuration.workerSettings.mode {
            for index in monitors.indices where !monitors[index].auxiliary { monitors[index].mode = fresh.workerSettings.mode }
            changes.append("execution mode \(fresh.workerSettings.mode.rawValue)")
        }
        for (name, before, after) in [("--timeout", configuration.timeout, fresh.timeout),
                                      ("--graceful-timeout", configuration.gracefulTimeout, fresh.gracefulTimeout)] where before != after {
            changes.append("\(name) \(formatSeconds(after))")
        }
        for (name, before, after) in [("--max-requests", configuration.maxRequests, fresh.maxRequests),
                                      ("--max-worker-memory", configuration.maxWorkerMemory, fresh.maxWorkerMemory)] where before != after {
            changes.append("\(name) \(after)")
        }
        if fresh.workerSettings != configuration.workerSettings, changes.isEmpty { changes.append("worker settings") }
        for (name, before, after) in [("--control", configuration.controlPath, fresh.controlPath),
                                      ("--log-file", configuration.logFile ?? "", fresh.logFile ?? ""),
                                      ("--metrics", configuration.metricsBind?.description ?? "", fresh.metricsBind?.description ?? "")]
            where before != after && !(name == "--control" && fresh.controlPath.hasSuffix("/pulse-\(getpid()).sock")) {
            logger.warning("SIGHUP: \(name) changes with a restart only; keeping \(before.isEmpty ? "none" : before)")
        }
        configuration.timeout = fresh.timeout
        configuration.gracefulTimeout = fresh.gracefulTimeout
        configuration.maxRequests = fresh.maxRequests
        configuration.maxRequestsJitter = fresh.maxRequestsJitter
        configuration.maxWorkerMemory = fresh.maxWorkerMemory
        configuration.workerSettings = fresh.workerSettings
        for index in configuration.services.indices {
            if let service = fresh.services.first(where: { $0.name == configuration.services[index].name }) {
                configuration.services[index].workers = service.workers
            }
        }
        let summary = changes.isEmpty ? ", nothing changed" : ": " + changes.joined(separator: "; ")
        logger.info("SIGHUP: configuration read again\(summary)")
    }
}
