import Dispatch
import Glibc
import NIOCore

/// One handler per signal, as gunicorn's arbiter has. Dispatch sources only enqueue
/// onto the loop; the handlers run there.
extension Arbiter {
    func installSignalHandlers() {
        let bound = NIOLoopBound(self, eventLoop: loop)
        let loop = self.loop
        for signalNumber in [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU] {
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
    func handleHUP() {
        logger.info("SIGHUP: rolling reload of every service")
        for index in monitors.indices where !monitors[index].auxiliary { monitors[index].reload() }
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
