import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// The store on disk: every database's keys, values and expiry times, written to
/// a temporary file and renamed into place, so a crash mid-write leaves the last
/// good snapshot. Expiry times are absolute, so they survive a restart.
///
/// Format: `PULSEDS1`, then per non-empty database `0xFE index`, then entries
/// `type expiry-ms key value`, then `0xFF`. Lengths are 32-bit big-endian. Type 5,
/// a stream, came later: snapshots without one read as before.
public enum Snapshot {
    static let magic = Array("PULSEDS1".utf8)

    /// Serializes the store as it is now (on its event loop).
    public static func encode(_ store: Store) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeBytes(magic)
        let now = Store.now()
        for (index, database) in store.databases.enumerated() where !database.values.isEmpty {
            buffer.writeInteger(UInt8(0xFE))
            buffer.writeInteger(UInt8(index))
            for key in database.keys(now: now) {
                guard let value = database.values[key] else { continue }
                write(value, key: key, expiry: database.expires[key] ?? -1, to: &buffer)
            }
        }
        buffer.writeInteger(UInt8(0xFF))
        return Array(buffer.readableBytesView)
    }

    private static func write(_ value: StoreValue, key: [UInt8], expiry: Int64, to buffer: inout ByteBuffer) {
        func blob(_ bytes: [UInt8]) {
            buffer.writeInteger(UInt32(bytes.count))
            buffer.writeBytes(bytes)
        }
        func count(_ count: Int) { buffer.writeInteger(UInt32(count)) }
        switch value {
        case .string, .shortString:
            buffer.writeInteger(UInt8(0)); buffer.writeInteger(expiry); blob(key); blob(value.stringBytes ?? [])
        case .list(let box):
            buffer.writeInteger(UInt8(1)); buffer.writeInteger(expiry); blob(key); count(box.value.count); box.value.forEach(blob)
        case .hash(let box):
            buffer.writeInteger(UInt8(2)); buffer.writeInteger(expiry); blob(key); count(box.value.count)
            for (field, value) in box.value { blob(field.bytes); blob(value) }
        case .set(let box):
            buffer.writeInteger(UInt8(3)); buffer.writeInteger(expiry); blob(key); count(box.value.count); box.value.forEach { blob($0.bytes) }
        case .sortedSet(let box):
            let set = box.value
            buffer.writeInteger(UInt8(4)); buffer.writeInteger(expiry); blob(key); count(set.count)
            for entry in set.range(0...max(0, set.count - 1)) where set.count > 0 {
                blob(entry.member)
                buffer.writeInteger(entry.score.bitPattern)
            }
        case .stream(let box):
            buffer.writeInteger(UInt8(5)); buffer.writeInteger(expiry); blob(key)
            write(box.value, to: &buffer)
        }
    }

    /// Loads a snapshot into an empty store; keys already expired are skipped.
    public static func decode(_ bytes: [UInt8], into store: Store) throws(SnapshotError) {
        var reader = Reader(buffer: ByteBuffer(bytes: bytes))
        guard reader.buffer.readBytes(length: magic.count) == magic else { throw SnapshotError("not a pulse data store snapshot") }
        let now = Store.now()
        var database = store.databases[0]
        func read<T: FixedWidthInteger>(_ type: T.Type) throws(SnapshotError) -> T { try reader.read(type) }
        func blob() throws(SnapshotError) -> [UInt8] { try reader.blob() }
        while true {
            let tag = try read(UInt8.self)
            switch tag {
            case 0xFF:
                return
            case 0xFE:
                let index = Int(try read(UInt8.self))
                guard index < store.databases.count else { throw SnapshotError("database \(index) out of range") }
                database = store.databases[index]
            case 0...5:
                let expiry = try read(Int64.self)
                let key = try blob()
                let value: StoreValue
                switch tag {
                case 0: value = StoreValue.string(try blob()).compacted
                case 1: value = .list(CircularBuffer(try (0..<Int(try read(UInt32.self))).map { _ throws(SnapshotError) in try blob() }))
                case 2:
                    var hash: [StoreKey: [UInt8]] = [:]
                    for _ in 0..<Int(try read(UInt32.self)) { hash[try blob()] = try blob() }
                    value = .hash(hash)
                case 3: value = .set(Set(try (0..<Int(try read(UInt32.self))).map { _ throws(SnapshotError) in StoreKey(try blob()) }))
                case 5: value = .stream(try readStream(&reader))
                default:
                    var set = SortedSet()
                    for _ in 0..<Int(try read(UInt32.self)) {
                        let member = try blob()
                        set.set(member, score: Double(bitPattern: try read(UInt64.self)))
                    }
                    value = .sortedSet(set)
                }
                if expiry >= 0, expiry <= now { continue }
                database.set(key, value)
                if expiry >= 0 { database.setExpiry(key, expiry) }
            default:
                throw SnapshotError("unknown entry type \(tag)")
            }
        }
    }

    /// Writes `bytes` to `path` atomically: a temporary file, fsync, rename.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let temporary = "\(path).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SnapshotError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard written > 0 else {
                close(fd)
                unlink(temporary)
                throw SnapshotError("cannot write \(temporary): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw SnapshotError("cannot rename to \(path): \(String(cString: strerror(errno)))")
        }
    }
}

extension Snapshot {
    /// Reads a snapshot's integers and length-prefixed byte strings.
    struct Reader {
        var buffer: ByteBuffer

        mutating func read<T: FixedWidthInteger>(_ type: T.Type) throws(SnapshotError) -> T {
            guard let value = buffer.readInteger(as: T.self) else { throw SnapshotError("truncated") }
            return value
        }

        mutating func blob() throws(SnapshotError) -> [UInt8] {
            let length = Int(try read(UInt32.self))
            guard let value = buffer.readBytes(length: length) else { throw SnapshotError("truncated") }
            return value
        }

        /// A count followed by that many items.
        mutating func list<T>(_ item: (inout Reader) throws(SnapshotError) -> T) throws(SnapshotError) -> [T] {
            var items: [T] = []
            for _ in 0..<Int(try read(UInt32.self)) { items.append(try item(&self)) }
            return items
        }
    }
}

public struct SnapshotError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// When the store saves itself: after `seconds` if at least `changes` writes happened.
public struct SaveRule: Codable, Sendable, Equatable {
    public var seconds: Int
    public var changes: Int

    public init(seconds: Int, changes: Int) {
        self.seconds = seconds
        self.changes = changes
    }

    /// `SECONDS:CHANGES`, as `--ds-save` takes it.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let seconds = Int(parts[0]), let changes = Int(parts[1]), seconds > 0, changes > 0 else { return nil }
        self.init(seconds: seconds, changes: changes)
    }
}

extension Store {
    /// Saves now, on the store's thread (SAVE).
    public func save() throws {
        guard let path = snapshotPath else { throw SnapshotError("no snapshot file configured") }
        try Snapshot.write(Snapshot.encode(self), to: path)
        noteSaved()
    }

    /// Serializes now and writes on another thread (BGSAVE); false if a save is under way.
    @discardableResult
    public func backgroundSave(log: @escaping @Sendable (String) -> Void = { _ in }) -> Bool {
        guard let path = snapshotPath, !saving.withLockedValue({ $0 }) else { return false }
        let bytes = Snapshot.encode(self)
        noteSaved()
        saving.withLockedValue { $0 = true }
        let (saving, succeeded) = (self.saving, lastBackgroundSaveSucceeded)
        Thread.detachNewThread {
            do {
                try Snapshot.write(bytes, to: path)
                succeeded.withLockedValue { $0 = true }
                log("snapshot saved to \(path) (\(bytes.count) bytes)")
            } catch {
                succeeded.withLockedValue { $0 = false }
                log("snapshot failed: \(error)")
            }
            saving.withLockedValue { $0 = false }
        }
        return true
    }

    private func noteSaved() {
        stats.saves += 1
        changesAtLastSave = changes
        lastSave = Date()
    }

    /// Starts a background save when one of `saveRules` says it is time.
    public func applySaveRules(log: @escaping @Sendable (String) -> Void) {
        let pending = changes - changesAtLastSave
        let elapsed = Date().timeIntervalSince(lastSave)
        if saveRules.contains(where: { pending >= $0.changes && elapsed >= Double($0.seconds) }) {
            backgroundSave(log: log)
        }
    }

    /// Loads the snapshot file when there is one.
    public func load() throws {
        guard let path = snapshotPath, let data = FileManager.default.contents(atPath: path) else { return }
        try Snapshot.decode(Array(data), into: self)
        changes = 0
        changesAtLastSave = 0
    }
}
