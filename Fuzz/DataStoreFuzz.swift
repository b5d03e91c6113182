// libFuzzer entry point for the embedded data store: the input is what clients
// send, RESP or inline, parsed by the store's own parser and run by its sessions
// against a fresh store, two clients taking turns (so WATCH, MULTI, pub/sub and
// blocking pops meet each other). A client may block, as on a connection: the other
// one's writes serve it, its timeouts fire now and then, and its next turn times it
// out first. Any trap is a bug: no input may crash the store.
// Built by scripts/fuzz-datastore with `swiftc -sanitize=fuzzer` beside the
// DataStore module's sources.
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func dataStoreFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let store = Store()
    // As the parser's bulk limit: SETRANGE and SETBIT may not make 512 MB strings here.
    store.maxStringLength = 1 << 16
    let clients = (1...2).map { Session(store: store, id: $0, address: "fuzz") { _ in } }
    var timeouts: [() -> Void] = []
    for client in clients {
        client.scheduleTimeout = { _, action in timeouts.append(action) }
        client.resume = {}
    }
    var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    let parser = RESPRequestParser(maxBulkLength: 1 << 16, maxArgumentCount: 256, maxInlineLength: 1 << 12)
    var turn = 0
    while turn < 500 {
        guard let arguments = try? parser.next(&buffer, authenticated: turn % 3 != 2) else { break }
        let client = clients[turn % 2]
        if client.blocked != nil { client.unblock(with: .array(nil)) }
        if !arguments.isEmpty { _ = client.execute(arguments) }
        turn += 1
        if turn % 16 == 0 {
            store.cron()
            timeouts.forEach { $0() }
            timeouts.removeAll()
        }
    }
    // As when the connections close: a client still waiting holds its session and the store.
    clients.forEach { $0.close() }
    timeouts.removeAll()
    return 0
}
