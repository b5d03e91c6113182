import Logging
import Mailbox
import NIOCore
import NIOPosix

/// The arbiter's ends of a worker's pipes: its mailbox (messages both ways) and
/// its stdout and stderr (into the merged log).
extension Arbiter {
    /// Connects a new worker's mailbox and output pipes to the loop.
    func attachPipes(of spawned: SpawnedWorker, name: String) {
        let pid = spawned.pid
        let bound = NIOLoopBound(self, eventLoop: loop)
        NIOPipeBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(MailboxHandler(arbiter: bound, pid: pid))
                }
            }
            .takingOwnershipOfDescriptor(inputOutput: spawned.mailboxFD)
            .whenComplete { result in
                switch result {
                case .success(let channel): bound.value.table.setMailbox(channel, pid: pid)
                case .failure(let error):
                    // NIO may have closed the fd already: leaking it beats a double close.
                    bound.value.logger.error("cannot watch the mailbox of \(name): \(error)")
                }
            }
        for (fd, fallback) in [(spawned.stdoutFD, Logger.Level.info), (spawned.stderrFD, Logger.Level.error)] {
            NIOPipeBootstrap(group: loop)
                .channelInitializer { [sink] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: 64 * 1024)))
                        try channel.pipeline.syncOperations.addHandler(OutputRelayHandler(sink: sink, source: name, fallback: fallback))
                    }
                }
                .takingOwnershipOfDescriptor(input: fd)
                .whenFailure { [logger] error in logger.error("cannot read the output of \(name): \(error)") }
        }
    }

    func received(_ message: WorkerMessage, from pid: Int32) {
        let now = Self.now()
        guard let entry = table[pid], let worker = monitors[entry.service].workers[entry.id] else { return }
        let index = entry.service
        let name = "\(monitors[index].name).\(worker.id)"
        switch message {
        case .ready:
            let bootTime = String(format: "%.0f", (now - worker.spawnedAt) * 1000)
            logger.info("worker \(name) (pid \(pid)) ready in \(bootTime) ms")
            // The mode may have changed while it booted.
            send(.mode(monitors[index].mode), to: pid)
            for action in monitors[index].workerReady(id: worker.id, now: now) {
                perform(action, service: index, now: now)
            }
            if !lifecycle.isRunning, monitors[index].workers[worker.id]?.isLive == true {
                // Booted while the arbiter was shutting down: drain it too.
                monitors[index].markKilled(id: worker.id, intent: .shutdown, killAt: now + configuration.gracefulTimeout)
                send(.drain(graceSeconds: 0), to: pid)
            }
        case .heartbeat(let report):
            monitors[index].workerHeartbeat(id: worker.id, report: report, now: now)
        case .retire(let requests):
            logger.info("worker \(name) served \(requests) requests (--max-requests): replacing it")
            monitors[index].recycle(id: worker.id)
        }
    }

    func send(_ message: ArbiterMessage, to pid: Int32) {
        guard let channel = table[pid]?.mailbox, let bytes = try? MailboxFraming.encode(message) else {
            // No mailbox (yet, or any more): the worker treats SIGTERM as a drain request.
            if case .drain = message { kill(pid, SIGTERM) }
            return
        }
        channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
    }
}

/// Decodes a worker's mailbox lines and hands them to the arbiter.
final class MailboxHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let arbiter: NIOLoopBound<Arbiter>
    let pid: Int32

    init(arbiter: NIOLoopBound<Arbiter>, pid: Int32) {
        self.arbiter = arbiter
        self.pid = pid
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Self.unwrapInboundIn(data)
        guard let message = try? MailboxFraming.decode(WorkerMessage.self, from: line.readableBytesView) else {
            arbiter.value.logger.warning("unreadable mailbox message from pid \(pid)")
            return
        }
        arbiter.value.received(message, from: pid)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Relays a worker's stdout or stderr into the merged log, line by line.
final class OutputRelayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let sink: LogSink
    let source: String
    let fallback: Logger.Level

    init(sink: LogSink, source: String, fallback: Logger.Level) {
        self.sink = sink
        self.source = source
        self.fallback = fallback
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let text = String(buffer: Self.unwrapInboundIn(data))
        sink.write(LogLine.parse(workerOutput: text, source: source, fallback: fallback))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
