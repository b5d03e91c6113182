/// A subscription that outlives the store: when its connection breaks it says so,
/// reconnects with a short back-off (50 ms doubling to 1 s), subscribes again to
/// the same channels and patterns, and says when it is back. Messages published
/// while it was away are not replayed (pub/sub keeps none); `connected` after a
/// `disconnected` is the moment to fetch what was missed from where it is kept.
///
/// Iterating it drives the reconnection; dropping the iteration (or cancelling its
/// task) closes the connection.
public struct DataStoreFeed: AsyncSequence, Sendable {
    public enum Event: Sendable, Equatable {
        /// Subscribed (again): messages published from now on arrive.
        case connected
        case message(DataStoreMessage)
        /// The connection broke or could not be made; it is being retried.
        case disconnected(DataStoreClientError)
    }

    public typealias Element = Event
    let stream: AsyncStream<Event>

    public func makeAsyncIterator() -> AsyncStream<Event>.AsyncIterator { stream.makeAsyncIterator() }
}

extension DataStoreClient {
    /// Follows `channels` and `patterns` for as long as the iteration lasts, across
    /// restarts of the store.
    public func follow(channels: [String], patterns: [String] = []) -> DataStoreFeed {
        let (stream, continuation) = AsyncStream.makeStream(of: DataStoreFeed.Event.self, bufferingPolicy: .bufferingNewest(10_000))
        let task = Task {
            var delay = 0.05
            var wasDown = false
            while !Task.isCancelled {
                do {
                    let subscription = try await subscribe(to: channels, patterns: patterns)
                    availability.set(true)
                    continuation.yield(.connected)
                    wasDown = false
                    // The back-off starts over only once the subscription has held a
                    // while: a store that accepts and drops subscribers is not hammered.
                    let subscribed = ContinuousClock.now
                    defer { if ContinuousClock.now - subscribed > .seconds(1) { delay = 0.05 } }
                    defer { subscription.cancel() }
                    for try await message in subscription { continuation.yield(.message(message)) }
                    // The stream ends with an error when the connection breaks; ending
                    // without one means the iteration was cancelled.
                    if !Task.isCancelled { throw DataStoreClientError("the subscription ended", kind: .unavailable) }
                } catch {
                    guard !Task.isCancelled else { break }
                    let failure = error as? DataStoreClientError ?? DataStoreClientError("\(error)", kind: .unavailable)
                    availability.set(false)
                    if !wasDown { continuation.yield(.disconnected(failure)) }
                    wasDown = true
                    try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                    delay = min(delay * 2, 1)
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return DataStoreFeed(stream: stream)
    }
}
