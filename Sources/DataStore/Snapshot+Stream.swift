import NIOCore

/// A stream on disk: its counters, its nodes as they are (so `~` trimming and
/// tombstones behave the same after a restart), then its consumer groups.
extension Snapshot {
    static func write(_ stream: Stream, to buffer: inout ByteBuffer) {
        func blob(_ bytes: [UInt8]) {
            buffer.writeInteger(UInt32(bytes.count))
            buffer.writeBytes(bytes)
        }
        func id(_ id: StreamID) {
            buffer.writeInteger(id.ms)
            buffer.writeInteger(id.seq)
        }
        func blobs(_ items: [[UInt8]]) {
            buffer.writeInteger(UInt32(items.count))
            items.forEach(blob)
        }
        id(stream.lastID); id(stream.firstID); id(stream.maxDeletedID)
        buffer.writeInteger(stream.entriesAdded)
        buffer.writeInteger(UInt32(stream.nodes.count))
        for node in stream.nodes {
            blobs(node.masterFields)
            buffer.writeInteger(UInt32(node.entries.count))
            for entry in node.entries {
                id(entry.id)
                buffer.writeInteger(UInt8(entry.deleted ? 1 : 0))
                blobs(entry.fields)
            }
        }
        buffer.writeInteger(UInt32(stream.groups.count))
        for (name, group) in stream.groups {
            blob(name)
            id(group.lastID)
            buffer.writeInteger(group.entriesRead)
            buffer.writeInteger(UInt32(group.consumers.count))
            for (consumer, state) in group.consumers {
                blob(consumer)
                buffer.writeInteger(state.seenTime)
            }
            buffer.writeInteger(UInt32(group.pending.count))
            for (pendingID, entry) in group.pending {
                id(pendingID)
                blob(entry.consumer)
                buffer.writeInteger(entry.deliveryTime)
                buffer.writeInteger(entry.deliveryCount)
            }
        }
    }

    static func readStream(_ reader: inout Reader) throws(SnapshotError) -> Stream {
        func id(_ reader: inout Reader) throws(SnapshotError) -> StreamID {
            StreamID(ms: try reader.read(UInt64.self), seq: try reader.read(UInt64.self))
        }
        var stream = Stream()
        stream.lastID = try id(&reader)
        stream.firstID = try id(&reader)
        stream.maxDeletedID = try id(&reader)
        stream.entriesAdded = try reader.read(UInt64.self)
        stream.nodes = try reader.list { (reader) throws(SnapshotError) in
            let master = try reader.list { (reader) throws(SnapshotError) in try reader.blob() }
            let entries = try reader.list { (reader) throws(SnapshotError) in
                let entryID = try id(&reader)
                let deleted = try reader.read(UInt8.self) == 1
                return Stream.Entry(id: entryID, fields: try reader.list { (reader) throws(SnapshotError) in try reader.blob() }, deleted: deleted)
            }
            let bytes = entries.reduce(Listpack.size(ofMaster: master)) { total, entry in
                total + Listpack.size(ofEntry: entry.id, master: entries[0].id, fields: entry.fields, masterFields: master)
            }
            return Stream.Node(entries: entries, live: entries.filter { !$0.deleted }.count, bytes: bytes, masterFields: master)
        }
        stream.length = stream.nodes.reduce(0) { $0 + $1.live }
        for _ in 0..<Int(try reader.read(UInt32.self)) {
            let name = try reader.blob()
            var group = ConsumerGroup(lastID: try id(&reader), entriesRead: try reader.read(Int64.self))
            for _ in 0..<Int(try reader.read(UInt32.self)) {
                let consumer = try reader.blob()
                group.consumers[consumer] = ConsumerGroup.Consumer(seenTime: try reader.read(Int64.self))
            }
            for _ in 0..<Int(try reader.read(UInt32.self)) {
                let pendingID = try id(&reader)
                let consumer = try reader.blob()
                group.consumers[consumer, default: ConsumerGroup.Consumer(seenTime: 0)].pending.insert(pendingID)
                group.pending[pendingID] = ConsumerGroup.Pending(consumer: consumer, deliveryTime: try reader.read(Int64.self),
                                                                 deliveryCount: try reader.read(UInt64.self))
            }
            stream.groups[name] = group
        }
        return stream
    }
}
