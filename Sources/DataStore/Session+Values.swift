import NIOCore

/// A session's access to the values of its database: read as one kind (WRONGTYPE
/// otherwise), changed in place, stored or deleted when emptied.
extension Session {
    /// The live value at `key`, counted as a keyspace hit or miss when a read command looks.
    func lookup(_ key: [UInt8]) -> StoreValue? {
        let value = db.get(key, now: now)
        if readsCountAsLookups {
            if value == nil {
                store.stats.keyspaceMisses += 1
                notify(.keyMiss, "keymiss", key)
            } else {
                store.stats.keyspaceHits += 1
            }
        }
        return value
    }

    /// The value at `key` as one kind; WRONGTYPE when it holds another, nil when missing.
    private func typed<T>(_ key: [UInt8], _ extract: (StoreValue) -> T?) throws(CommandError) -> T? {
        guard let value = lookup(key) else { return nil }
        guard let typed = extract(value) else { throw .wrongType }
        return typed
    }

    func string(_ key: [UInt8]) throws(CommandError) -> [UInt8]? {
        try typed(key) { $0.stringBytes }
    }

    func list(_ key: [UInt8]) throws(CommandError) -> CircularBuffer<[UInt8]>? {
        try typed(key) { if case .list(let box) = $0 { box.value } else { nil } }
    }

    func hash(_ key: [UInt8]) throws(CommandError) -> [StoreKey: [UInt8]]? {
        try typed(key) { if case .hash(let box) = $0 { box.value } else { nil } }
    }

    func set(_ key: [UInt8]) throws(CommandError) -> Set<StoreKey>? {
        try typed(key) { if case .set(let box) = $0 { box.value } else { nil } }
    }

    func sortedSet(_ key: [UInt8]) throws(CommandError) -> SortedSet? {
        try typed(key) { if case .sortedSet(let box) = $0 { box.value } else { nil } }
    }

    func stream(_ key: [UInt8]) throws(CommandError) -> Stream? {
        try typed(key) { if case .stream(let box) = $0 { box.value } else { nil } }
    }

    /// Changes a collection in place, in its box: one lookup of the key, and no copy
    /// (copy-on-write made every LPUSH O(n) when the dictionary still held the value).
    /// A missing key starts empty; an emptied collection is deleted; the change stays
    /// even if `body` throws. `empty` is made only for a missing key: an empty list
    /// allocates room for 16 elements, which cost an LPUSH to an existing list 1,000
    /// instructions.
    private func mutate<T, R>(_ key: [UInt8], extract: (StoreValue) -> Box<T>?, wrap: (Box<T>) -> StoreValue, empty: () -> T,
                              _ body: (inout T) throws(CommandError) -> R) throws(CommandError) -> R {
        if let existing = db.get(key, now: now) {
            guard let box = extract(existing) else { throw .wrongType }
            defer {
                let value = wrap(box)
                if value.isEmptyCollection {
                    db.delete(key)
                    emptied.append(key)
                } else {
                    db.changedInPlace(key, wakes: value.wakesWaiters)
                }
                store.changes += 1
            }
            return try body(&box.value)
        }
        let box = Box(empty())
        defer {
            let value = wrap(box)
            if !value.isEmptyCollection { db.set(key, value, keepTTL: true) }
            store.changes += 1
        }
        return try body(&box.value)
    }

    func mutateList<R>(_ key: [UInt8], _ body: (inout CircularBuffer<[UInt8]>) throws(CommandError) -> R) throws(CommandError) -> R {
        try mutate(key, extract: { if case .list(let box) = $0 { box } else { nil } }, wrap: StoreValue.list, empty: { [] }, body)
    }

    func mutateHash<R>(_ key: [UInt8], _ body: (inout [StoreKey: [UInt8]]) throws(CommandError) -> R) throws(CommandError) -> R {
        try mutate(key, extract: { if case .hash(let box) = $0 { box } else { nil } }, wrap: StoreValue.hash, empty: { [:] }, body)
    }

    func mutateSet<R>(_ key: [UInt8], _ body: (inout Set<StoreKey>) throws(CommandError) -> R) throws(CommandError) -> R {
        try mutate(key, extract: { if case .set(let box) = $0 { box } else { nil } }, wrap: StoreValue.set, empty: { [] }, body)
    }

    func mutateSortedSet<R>(_ key: [UInt8], _ body: (inout SortedSet) throws(CommandError) -> R) throws(CommandError) -> R {
        try mutate(key, extract: { if case .sortedSet(let box) = $0 { box } else { nil } }, wrap: StoreValue.sortedSet,
                   empty: { SortedSet() }, body)
    }

    /// Changes a stream in place, creating an empty one for a missing key; a stream is
    /// kept when it empties, as in Redis. WATCH sees the change when the stream was made
    /// or `changed` says the result is one Redis signals (entries added or removed; not
    /// a group's reads, acknowledgements or claims). Blocked readers look again when the
    /// stream was made or the command `wakes` them (XADD, XGROUP DESTROY).
    func mutateStream<R>(_ key: [UInt8], changed: (R) -> Bool = { _ in true }, wakes: Bool = false,
                         _ body: (inout Stream) throws(CommandError) -> R) throws(CommandError) -> R {
        var existing: Box<Stream>?
        if let value = lookup(key) {
            guard case .stream(let box) = value else { throw .wrongType }
            existing = box
        }
        let box = existing ?? Box(Stream())
        var result: R?
        defer {
            if existing == nil {
                db.set(key, .stream(box), keepTTL: true)
            } else {
                db.changedInPlace(key, touching: result.map(changed) == true, wakes: wakes)
            }
            store.changes += 1
        }
        let value = try body(&box.value)
        result = value
        return value
    }

    /// Stores a collection, or deletes the key when it became empty (as Redis does).
    func store(_ key: [UInt8], _ value: StoreValue) {
        if value.isEmptyCollection {
            if db.delete(key) { emptied.append(key) }
        } else {
            db.set(key, value, keepTTL: true)
        }
        store.changes += 1
    }
}
