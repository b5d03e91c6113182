import CPulseSystem
import Foundation
import NIOCore

/// Who listens to what. Subscribers are connections; a message is written to
/// each as a RESP push array.
final class PubSubHub {
    private(set) var channels: [[UInt8]: [ObjectIdentifier: Subscriber]] = [:]
    private(set) var patterns: [[UInt8]: [ObjectIdentifier: Subscriber]] = [:]

    /// A connection in subscribe mode, seen from the hub.
    final class Subscriber {
        let deliver: (RESPValue) -> Void
        init(deliver: @escaping (RESPValue) -> Void) { self.deliver = deliver }
    }

    func subscribe(_ subscriber: Subscriber, channel: [UInt8]) {
        channels[channel, default: [:]][ObjectIdentifier(subscriber)] = subscriber
    }

    func unsubscribe(_ subscriber: Subscriber, channel: [UInt8]) {
        channels[channel]?.removeValue(forKey: ObjectIdentifier(subscriber))
        if channels[channel]?.isEmpty == true { channels.removeValue(forKey: channel) }
    }

    func psubscribe(_ subscriber: Subscriber, pattern: [UInt8]) {
        patterns[pattern, default: [:]][ObjectIdentifier(subscriber)] = subscriber
    }

    func punsubscribe(_ subscriber: Subscriber, pattern: [UInt8]) {
        patterns[pattern]?.removeValue(forKey: ObjectIdentifier(subscriber))
        if patterns[pattern]?.isEmpty == true { patterns.removeValue(forKey: pattern) }
    }

    /// Delivers `message`; returns how many subscribers received it.
    func publish(channel: [UInt8], message: [UInt8]) -> Int {
        var receivers = 0
        for subscriber in channels[channel]?.values ?? [:].values {
            subscriber.deliver(.push([.bulk("message"), .bulkString(channel), .bulkString(message)]))
            receivers += 1
        }
        for (pattern, subscribers) in patterns where Glob.matches(pattern, channel) {
            for subscriber in subscribers.values {
                subscriber.deliver(.push([.bulk("pmessage"), .bulkString(pattern), .bulkString(channel), .bulkString(message)]))
                receivers += 1
            }
        }
        return receivers
    }

    var subscriptionCount: Int { channels.values.reduce(0) { $0 + $1.count } + patterns.values.reduce(0) { $0 + $1.count } }
}

/// Redis glob patterns (`*`, `?`, `[a-z]`, `[^a]`, `\x`), as KEYS, SCAN and
/// PSUBSCRIBE use them.
enum Glob {
    static func matches(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        match(pattern[...], text[...])
    }

    private static func match(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex, t = text.startIndex
        var starP: Int?, starT = 0
        while t < text.endIndex {
            if p < pattern.endIndex {
                switch pattern[p] {
                case UInt8(ascii: "*"):
                    starP = p
                    starT = t
                    p += 1
                    continue
                case UInt8(ascii: "?"):
                    p += 1
                    t += 1
                    continue
                case UInt8(ascii: "["):
                    if let (matched, next) = matchClass(pattern, from: p, byte: text[t]), matched {
                        p = next
                        t += 1
                        continue
                    }
                case UInt8(ascii: "\\") where p + 1 < pattern.endIndex:
                    if pattern[p + 1] == text[t] {
                        p += 2
                        t += 1
                        continue
                    }
                default:
                    if pattern[p] == text[t] {
                        p += 1
                        t += 1
                        continue
                    }
                }
            }
            guard let star = starP else { return false }
            p = star + 1
            starT += 1
            t = starT
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }

    /// Matches `[...]` at `start`; returns whether `byte` is in it and the index after `]`.
    private static func matchClass(_ pattern: ArraySlice<UInt8>, from start: Int, byte: UInt8) -> (Bool, Int)? {
        var index = start + 1
        var negate = false
        if index < pattern.endIndex, pattern[index] == UInt8(ascii: "^") {
            negate = true
            index += 1
        }
        var matched = false
        var first = true
        while index < pattern.endIndex, pattern[index] != UInt8(ascii: "]") || first {
            first = false
            var low = pattern[index]
            if low == UInt8(ascii: "\\"), index + 1 < pattern.endIndex {
                index += 1
                low = pattern[index]
            }
            if index + 2 < pattern.endIndex, pattern[index + 1] == UInt8(ascii: "-"), pattern[index + 2] != UInt8(ascii: "]") {
                let high = pattern[index + 2]
                if (min(low, high)...max(low, high)).contains(byte) { matched = true }
                index += 3
            } else {
                if low == byte { matched = true }
                index += 1
            }
        }
        guard index < pattern.endIndex else { return nil }
        return (matched != negate, index + 1)
    }
}
