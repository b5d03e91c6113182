@preconcurrency import CLibPQ
import Foundation

/// A NOTIFY received on a LISTENed channel.
public struct PostgresNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    /// The server process that sent it.
    public let senderPID: Int32
}

extension PostgresConnection {
    /// LISTENs on `channels` and delivers their notifications as they arrive. The
    /// connection is the stream's from then on; ending the stream stops listening.
    public func notifications(on channels: [String]) async throws -> AsyncThrowingStream<PostgresNotification, Error> {
        for channel in channels { _ = try await query("LISTEN " + Self.quoteIdentifier(channel)) }
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: PostgresNotification.self)
        let task = Task { [self] in
            do {
                while !Task.isCancelled {
                    for notification in drainNotifications() { continuation.yield(notification) }
                    try await waitReadable()
                    guard consumeInput() else { throw error() }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// `"name"` with quotes doubled: channel names are identifiers, not values.
    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
