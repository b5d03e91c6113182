import NIOCore
import NIOEmbedded
@testable import Server
import Testing

/// The worker's books of connections and WebSockets, with channels that go nowhere.
@Suite struct ConnectionRegistryTests {
    /// `count` fresh channels, closed when `body` returns (an `EmbeddedChannel`
    /// left open fails an assertion when it is freed).
    private func withChannels(_ count: Int, _ body: ([EmbeddedChannel]) throws -> Void) rethrows {
        let channels = (0..<count).map { _ in EmbeddedChannel() }
        defer { for channel in channels { _ = try? channel.finish(acceptAlreadyClosed: true) } }
        try body(channels)
    }

    private func ids(_ channels: [any Channel]) -> Set<ObjectIdentifier> {
        Set(channels.map { ObjectIdentifier($0) })
    }

    private func ids(_ channels: EmbeddedChannel...) -> Set<ObjectIdentifier> {
        Set(channels.map { ObjectIdentifier($0) })
    }

    @Test func aNewRegistryIsEmpty() {
        let registry = ConnectionRegistry()
        #expect(registry.count == 0)
        #expect(registry.webSocketCount == 0)
        #expect(registry.webSocketChannels.isEmpty)
        #expect(registry.idleAfterServing.isEmpty)
    }

    @Test func openedConnectionsAreCountedOnce() {
        withChannels(2) { channels in
            var registry = ConnectionRegistry()
            registry.opened(channels[0])
            #expect(registry.count == 1)
            registry.opened(channels[1])
            #expect(registry.count == 2)
            registry.opened(channels[1])
            #expect(registry.count == 2)
            #expect(registry.webSocketCount == 0)
        }
    }

    @Test func aConnectionThatNeverAnsweredIsNotIdleAfterServing() {
        withChannels(2) { channels in
            var registry = ConnectionRegistry()
            registry.opened(channels[0])
            registry.opened(channels[1])
            #expect(registry.idleAfterServing.isEmpty)
            // Its first request is running: still not.
            registry.setBusy(channels[0], true)
            #expect(registry.idleAfterServing.isEmpty)
        }
    }

    @Test func aConnectionIsIdleAfterServingOnlyBetweenRequests() {
        withChannels(3) { channels in
            // The third connection never gets a request: it is never listed.
            let (served, busy) = (channels[0], channels[1])
            var registry = ConnectionRegistry()
            for channel in channels { registry.opened(channel) }

            registry.setBusy(served, true)
            registry.setBusy(served, false)
            registry.setBusy(busy, true)
            #expect(ids(registry.idleAfterServing) == ids(served))

            // Answering its first request makes the busy one idle too.
            registry.setBusy(busy, false)
            #expect(ids(registry.idleAfterServing) == ids(served, busy))

            // The next request on a served connection makes it busy again.
            registry.setBusy(served, true)
            #expect(ids(registry.idleAfterServing) == ids(busy))
        }
    }

    @Test func aConnectionMarkedIdleWithoutARequestCountsAsServed() {
        // What `ConnectionBookkeeper` does for connections that are not HTTP.
        withChannels(1) { channels in
            var registry = ConnectionRegistry()
            registry.opened(channels[0])
            registry.setBusy(channels[0], false)
            #expect(ids(registry.idleAfterServing) == ids(channels[0]))
        }
    }

    @Test func aClosedConnectionIsForgotten() {
        withChannels(2) { channels in
            var registry = ConnectionRegistry()
            registry.opened(channels[0])
            registry.opened(channels[1])
            registry.setBusy(channels[0], false)
            registry.setBusy(channels[1], false)
            registry.closed(channels[0])
            #expect(registry.count == 1)
            #expect(ids(registry.idleAfterServing) == ids(channels[1]))
            // Closing it again, or one never opened, changes nothing.
            registry.closed(channels[0])
            #expect(registry.count == 1)
            registry.closed(channels[1])
            #expect(registry.count == 0)
            #expect(registry.idleAfterServing.isEmpty)
        }
    }

    @Test func marksOnAConnectionNotOpenedAreIgnored() {
        withChannels(1) { channels in
            var registry = ConnectionRegistry()
            registry.setBusy(channels[0], true)
            registry.setBusy(channels[0], false)
            #expect(registry.count == 0)
            #expect(registry.idleAfterServing.isEmpty)
            registry.closed(channels[0])
            #expect(registry.count == 0)
        }
    }

    @Test func webSocketsAreCountedApartFromConnections() {
        withChannels(3) { channels in
            var registry = ConnectionRegistry()
            registry.opened(channels[0])
            registry.webSocketOpened(channels[1])
            registry.webSocketOpened(channels[2])
            registry.webSocketOpened(channels[2])
            #expect(registry.webSocketCount == 2)
            #expect(ids(registry.webSocketChannels) == ids(channels[1], channels[2]))
            #expect(registry.count == 1)
            #expect(registry.idleAfterServing.isEmpty)

            registry.webSocketClosed(channels[1])
            #expect(registry.webSocketCount == 1)
            #expect(ids(registry.webSocketChannels) == ids(channels[2]))
            registry.webSocketClosed(channels[1])
            #expect(registry.webSocketCount == 1)
            // Closing a connection does not touch the WebSockets, nor the reverse.
            registry.closed(channels[2])
            #expect(registry.webSocketCount == 1)
            registry.webSocketClosed(channels[0])
            #expect(registry.count == 1)
            registry.webSocketClosed(channels[2])
            #expect(registry.webSocketCount == 0)
            #expect(registry.webSocketChannels.isEmpty)
        }
    }
}
