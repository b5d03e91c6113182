import CPulseSystem
import Glibc
import PulseControl

/// The arbiter's view of a worker's scoreboard (Sources/CPulseSystem/Scoreboard.c):
/// the requests it is serving, readable even while it is hung, so that a worker
/// killed for `--timeout` or dead of a crash is logged with what it was doing.
final class ScoreboardMapping {
    private let board: UnsafeMutableRawPointer

    /// A new scoreboard file and the arbiter's mapping of it; the fd goes to the worker.
    static func create() -> (ScoreboardMapping, fd: Int32)? {
        let fd = pulse_scoreboard_create()
        guard fd >= 0 else { return nil }
        guard let board = pulse_scoreboard_map(fd) else {
            close(fd)
            return nil
        }
        return (ScoreboardMapping(board: board), fd)
    }

    private init(board: UnsafeMutableRawPointer) { self.board = board }

    deinit { pulse_scoreboard_unmap(board) }

    /// The requests in flight now, longest running first.
    func inflight() -> [InflightRequest] {
        let now = pulse_monotonic_ns()
        var text = [CChar](repeating: 0, count: Int(PULSE_SCOREBOARD_TEXT))
        var requests: [InflightRequest] = []
        for index in 0..<Int32(PULSE_SCOREBOARD_SLOTS) {
            var started: UInt64 = 0
            let length = pulse_scoreboard_read(board, index, &started, &text, text.count)
            guard length >= 0 else { continue }
            let request = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let seconds = now > started ? Double(now - started) / 1_000_000_000 : 0
            requests.append(InflightRequest(request: request, seconds: seconds))
        }
        return requests.sorted { $0.seconds > $1.seconds }
    }
}
