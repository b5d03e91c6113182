import CPulseSystem
import Glibc
import NIOConcurrencyHelpers

/// Accepts connections on the listening sockets the worker inherited and hands
/// each one to the event loop.
///
/// It runs on a thread of its own, outside NIO's server channel: every worker polls
/// the same sockets, one wins each accept and the others see EAGAIN, which NIO's
/// own accept path does not tolerate in debug builds. The listening sockets stay
/// open in the arbiter, so a worker that stops accepting drops nothing queued.
final class Acceptor: Sendable {
    private let listenFDs: [Int32]
    private let wakeFDs: [Int32]
    private let stopped = NIOLockedValueBox(false)
    private let arbiterPID: Int32
    private let onConnection: @Sendable (Int32) -> Void
    private let onArbiterGone: @Sendable () -> Void
    private let onStopped: @Sendable () -> Void

    /// `onStopped` runs on the accept thread once it accepts no more, after every
    /// connection it accepted was handed to `onConnection`.
    init(listenFDs: [Int32], arbiterPID: Int32, onConnection: @escaping @Sendable (Int32) -> Void,
         onArbiterGone: @escaping @Sendable () -> Void, onStopped: @escaping @Sendable () -> Void) {
        var pipe: [Int32] = [-1, -1]
        _ = pulse_pipe_cloexec(&pipe)
        self.listenFDs = listenFDs
        self.wakeFDs = pipe
        self.arbiterPID = arbiterPID
        self.onConnection = onConnection
        self.onArbiterGone = onArbiterGone
        self.onStopped = onStopped
    }

    func start() {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self)
        pthread_create(&thread, nil, { raw in
            let acceptor = Unmanaged<Acceptor>.fromOpaque(raw!).takeRetainedValue()
            pulse_set_thread_name("pulse-accept")
            acceptor.run()
            return nil
        }, box.toOpaque())
        pthread_detach(thread)
    }

    /// Stops accepting; connections already accepted carry on.
    func stop() {
        stopped.withLockedValue { $0 = true }
        var byte: UInt8 = 1
        _ = write(wakeFDs[1], &byte, 1)
    }

    private func run() {
        var polled = listenFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        polled.append(pollfd(fd: wakeFDs[0], events: Int16(POLLIN), revents: 0))
        var arbiterGoneReported = false
        while !stopped.withLockedValue({ $0 }) {
            // The timeout doubles as the check that the arbiter is alive, which
            // works even when the event loop is blocked.
            let ready = poll(&polled, nfds_t(polled.count), 1000)
            if !arbiterGoneReported, getppid() != arbiterPID {
                arbiterGoneReported = true
                onArbiterGone()
            }
            guard ready > 0 else { continue }
            for index in listenFDs.indices where polled[index].revents & Int16(POLLIN) != 0 {
                acceptOne(on: listenFDs[index])
            }
        }
        onStopped()
    }

    /// Accepts one connection per wake-up, then polls again: a worker that took
    /// every queued connection at once would starve its siblings of keep-alive
    /// clients; one at a time, the workers woken together share them out.
    private func acceptOne(on listenFD: Int32) {
        while !stopped.withLockedValue({ $0 }) {
            let fd = pulse_accept_nonblocking(listenFD)
            if fd >= 0 {
                onConnection(fd)
                return
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK: return          // another worker won the race
            case EINTR, ECONNABORTED: continue
            case EMFILE, ENFILE:
                usleep(10_000)                         // out of fds: let connections close
                return
            default:
                return
            }
        }
    }
}
