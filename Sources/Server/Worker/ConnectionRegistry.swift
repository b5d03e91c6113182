import NIOCore

/// The worker's open connections and WebSockets, confined to its event loop.
/// A connection that has answered a request and is idle again may be closed when
/// the worker drains; one that has not may have its first request on the wire.
struct ConnectionRegistry {
    private struct Entry {
        let channel: Channel
        var busy = false
        var served = false
    }

    private var connections: [ObjectIdentifier: Entry] = [:]
    private var webSockets: [ObjectIdentifier: Channel] = [:]

    var count: Int { connections.count }
    var channels: [Channel] { connections.values.map(\.channel) }
    var webSocketCount: Int { webSockets.count }
    var webSocketChannels: [Channel] { Array(webSockets.values) }

    mutating func opened(_ channel: Channel) {
        connections[ObjectIdentifier(channel)] = Entry(channel: channel)
    }

    mutating func closed(_ channel: Channel) {
        connections.removeValue(forKey: ObjectIdentifier(channel))
    }

    mutating func setBusy(_ channel: Channel, _ busy: Bool) {
        guard let index = connections.index(forKey: ObjectIdentifier(channel)) else { return }
        connections.values[index].busy = busy
        if !busy { connections.values[index].served = true }
    }

    /// Connections idle between two requests: safe to close.
    var idleAfterServing: [Channel] {
        connections.values.filter { $0.served && !$0.busy }.map(\.channel)
    }

    /// An upgraded connection is never idle: the drain closes it with 1001, not abruptly.
    mutating func webSocketOpened(_ channel: Channel) {
        webSockets[ObjectIdentifier(channel)] = channel
        connections[ObjectIdentifier(channel)]?.busy = true
    }

    mutating func webSocketClosed(_ channel: Channel) {
        webSockets.removeValue(forKey: ObjectIdentifier(channel))
    }
}
