/// Keyspace notifications (CONFIG SET notify-keyspace-events): what happens to keys,
/// published as Redis publishes it, on `__keyspace@DB__:KEY` (the event) and
/// `__keyevent@DB__:EVENT` (the key).
struct KeyspaceEvents: OptionSet, Sendable {
    let rawValue: Int
    init(rawValue: Int) { self.rawValue = rawValue }
    static let keyspace = KeyspaceEvents(rawValue: 1 << 0)  // K
    static let keyevent = KeyspaceEvents(rawValue: 1 << 1)  // E
    static let generic = KeyspaceEvents(rawValue: 1 << 2)  // g
    static let strings = KeyspaceEvents(rawValue: 1 << 3)  // $
    static let lists = KeyspaceEvents(rawValue: 1 << 4)  // l
    static let sets = KeyspaceEvents(rawValue: 1 << 5)  // s
    static let hashes = KeyspaceEvents(rawValue: 1 << 6)  // h
    static let sortedSets = KeyspaceEvents(rawValue: 1 << 7)  // z
    static let expired = KeyspaceEvents(rawValue: 1 << 8)  // x
    static let evicted = KeyspaceEvents(rawValue: 1 << 9)  // e
    static let streams = KeyspaceEvents(rawValue: 1 << 10)  // t
    static let keyMiss = KeyspaceEvents(rawValue: 1 << 11)  // m
    static let module = KeyspaceEvents(rawValue: 1 << 12)  // d
    static let newKeys = KeyspaceEvents(rawValue: 1 << 13)  // n
    /// A: every class but key misses and new keys.
    static let all: KeyspaceEvents = [.generic, .strings, .lists, .sets, .hashes, .sortedSets, .expired, .evicted, .streams, .module]

    private static let letters: [(Character, KeyspaceEvents)] = [
        ("g", .generic), ("$", .strings), ("l", .lists), ("s", .sets), ("h", .hashes), ("z", .sortedSets), ("x", .expired),
        ("e", .evicted), ("t", .streams), ("d", .module), ("n", .newKeys),
    ]

    /// The flags a configuration string names; nil for a letter Redis does not know.
    init?(parsing text: String) {
        var flags: KeyspaceEvents = []
        for letter in text {
            switch letter {
            case "A": flags.formUnion(.all)
            case "K": flags.insert(.keyspace)
            case "E": flags.insert(.keyevent)
            case "m": flags.insert(.keyMiss)
            default:
                guard let flag = Self.letters.first(where: { $0.0 == letter })?.1 else { return nil }
                flags.insert(flag)
            }
        }
        self = flags
    }

    /// As CONFIG GET shows it, in Redis's order (with A, Redis leaves out n: so do we).
    var text: String {
        var text = isSuperset(of: .all) ? "A" : String(Self.letters.filter { contains($0.1) }.map(\.0))
        if contains(.keyspace) { text += "K" }
        if contains(.keyevent) { text += "E" }
        if contains(.keyMiss) { text += "m" }
        return text
    }
}

extension Store {
    /// Publishes that `event` happened to `key`, when its class is asked for.
    func notify(_ kind: KeyspaceEvents, _ event: String, key: [UInt8], database: Int) {
        guard notifications.contains(kind), !notifications.isDisjoint(with: [.keyspace, .keyevent]) else { return }
        if notifications.contains(.keyspace) {
            _ = pubsub.publish(channel: Array("__keyspace@\(database)__:".utf8) + key, message: Array(event.utf8))
        }
        if notifications.contains(.keyevent) {
            _ = pubsub.publish(channel: Array("__keyevent@\(database)__:\(event)".utf8), message: key)
        }
    }
}

extension Session {
    /// Publishes an event on a key of this session's database, then the `del` of that
    /// key if the change emptied it (Redis's order: `lpop`, then `del`).
    func notify(_ kind: KeyspaceEvents, _ event: String, _ key: [UInt8]) {
        store.notify(kind, event, key: key, database: database)
        if let index = emptied.firstIndex(of: key) {
            emptied.remove(at: index)
            store.notify(.generic, "del", key: key, database: database)
        }
    }

    /// After a command: the `del` of collections it emptied without saying so.
    func notifyEmptied() {
        for key in emptied { store.notify(.generic, "del", key: key, database: database) }
        emptied.removeAll()
    }
}
