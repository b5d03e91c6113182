import Foundation
import NIOConcurrencyHelpers
import Pulsar

/// The chat of pulsar-django's djchat, in Swift: a page, a WebSocket at `/message`,
/// messages published on `webchat` and presence on `chatuser` through the data store,
/// so clients on different workers see each other.
enum Chat {
    static let messages = "chat:messages"
    static let presence = "chat:presence"
    static let cookie = "pulse_user"

    /// The open sockets of this worker, by user: where published messages go.
    static let sockets = NIOLockedValueBox<[ObjectIdentifier: (socket: WebSocket, user: String)]>([:])

    /// The worker's client of the data store, made on first use.
    static func store(_ context: WorkerContext) throws -> DataStoreClient {
        try DataStoreClient.forWorker(context)
    }

    /// Once per worker: relay everything published on the chat channels to this
    /// worker's sockets, across restarts of the store. While it is away the users
    /// are told; when it is back, they get what they missed and are counted again.
    static func boot(_ context: WorkerContext) async throws {
        let client = try store(context)
        Task.detached {
            var relayed = Relayed()
            var away = false
            for await event in client.follow(channels: ["webchat", "chatuser"]) {
                switch event {
                case .message(let message):
                    // A message relayed from the history on the way back may come live too.
                    if message.channel == "webchat", !relayed.insert(message.message) { continue }
                    broadcast(message.message)
                case .disconnected:
                    away = true
                    broadcast(json(["channel": "status", "event": "reconnecting"]))
                case .connected where away:
                    away = false
                    await rejoin(client, context: context, relayed: &relayed)
                case .connected:
                    // What the sockets got as history when they joined is not news.
                    let history = (try? await history(client, context)) ?? []
                    relayed.newest = history.map(time(of:)).max() ?? 0
                }
            }
        }
    }

    /// The chat messages a worker relayed lately, and when the newest was sent.
    struct Relayed {
        var newest = 0.0
        private var seen: Set<String> = []
        private var order: [String] = []

        /// False when `text` was relayed already.
        mutating func insert(_ text: String) -> Bool {
            guard seen.insert(text).inserted else { return false }
            order.append(text)
            if order.count > 200 { seen.remove(order.removeFirst()) }
            newest = max(newest, Chat.time(of: text))
            return true
        }
    }

    /// Back after an outage: say so, relay the messages kept while the relay was
    /// away, and count this worker's users present again if the store forgot them.
    static func rejoin(_ store: DataStoreClient, context: WorkerContext, relayed: inout Relayed) async {
        broadcast(json(["channel": "status", "event": "connected"]))
        let since = relayed.newest
        for text in (try? await history(store, context)) ?? [] where time(of: text) > since && relayed.insert(text) {
            broadcast(text)
        }
        let local = Dictionary(sockets.withLockedValue { $0.values.map { ($0.user, 1) } }, uniquingKeysWith: +)
        for (user, count) in local {
            if case .integer(0)? = try? await store.send("HEXISTS", presence, user) {
                _ = try? await store.send("HINCRBY", presence, user, String(count))
            }
        }
    }

    /// When a chat message was sent (its `time`), or 0.
    static func time(of text: String) -> Double {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return 0 }
        return object["time"] as? Double ?? 0
    }

    static func broadcast(_ text: String) {
        for (socket, _) in sockets.withLockedValue({ Array($0.values) }) {
            Task { try? await socket.send(text: text) }
        }
    }

    static func routes(_ router: inout Router) {
        router.get("/") { request in
            var response = Response.html(page)
            if user(of: request) == nil {
                response.headers[.setCookie] = "\(cookie)=\(anonymousName()); Path=/; SameSite=Lax"
            }
            return response
        }
        router.webSocket("/message", WebSocketHandlers(
            onOpen: { socket in
                let user = user(of: socket.request) ?? anonymousName()
                sockets.withLockedValue { $0[ObjectIdentifier(socket)] = (socket, user) }
                do {
                    let store = try store(socket.request.context)
                    if case .integer(1) = try await store.send("HINCRBY", presence, user, "1") {
                        try await store.publish("chatuser", json(["channel": "chatuser", "event": "joined", "user": user]))
                    }
                    for text in try await history(store, socket.request.context) { try await socket.send(text: text) }
                    if case .array(let users?) = try await store.send("HKEYS", presence) {
                        try await socket.send(text: json(["channel": "chatuser", "event": "users", "user": user,
                                                          "users": users.compactMap(\.string).sorted()]))
                    }
                } catch {
                    try? await socket.send(text: json(["channel": "error", "message": "the data store is unavailable"]))
                }
            },
            onText: { socket, text in
                guard let user = sockets.withLockedValue({ $0[ObjectIdentifier(socket)]?.user }) else { return }
                let message = json(["message": text, "user": user, "authenticated": false, "channel": "webchat",
                                    "time": Date().timeIntervalSince1970])
                do {
                    let store = try store(socket.request.context)
                    try await keep(message, store, socket.request.context)
                    try await store.publish("webchat", message)
                } catch is PostgresError {
                    try? await socket.send(text: json(["channel": "error", "message": "the database is unavailable"]))
                } catch {
                    try? await socket.send(text: json(["channel": "error", "message": "the data store is unavailable"]))
                }
            },
            onClose: { socket, _ in
                guard let user = sockets.withLockedValue({ $0.removeValue(forKey: ObjectIdentifier(socket))?.user }) else { return }
                guard let store = try? store(socket.request.context),
                      case .integer(let left)? = try? await store.send("HINCRBY", presence, user, "-1"), left <= 0 else { return }
                _ = try? await store.send("HDEL", presence, user)
                _ = try? await store.publish("chatuser", json(["channel": "chatuser", "event": "gone", "user": user]))
            }))
    }

    /// With `--database`, the history lives in PostgreSQL (`pulse migrate` makes the
    /// table); otherwise in a data store list.
    static func keep(_ message: String, _ store: DataStoreClient, _ context: WorkerContext) async throws {
        if let database = PostgresClient.forWorker(context) {
            _ = try await database.query("INSERT INTO chat_messages (body) VALUES ($1::jsonb)", [message])
        } else {
            try await store.send("RPUSH", messages, message)
            try await store.send("LTRIM", messages, "-100", "-1")
        }
    }

    /// The last 100 messages, oldest first.
    static func history(_ store: DataStoreClient, _ context: WorkerContext) async throws -> [String] {
        if let database = PostgresClient.forWorker(context) {
            let rows = try await database.query(
                "SELECT body::text AS body FROM (SELECT body, id FROM chat_messages ORDER BY id DESC LIMIT 100) recent ORDER BY id")
            return try rows.map { try $0.decode("body", as: String.self) }
        }
        guard case .array(let history?) = try await store.send("LRANGE", messages, "-100", "-1") else { return [] }
        return history.compactMap(\.string)
    }

    static func user(of request: Request) -> String? {
        guard let header = request.headers[.cookie] else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == cookie, !parts[1].isEmpty { return String(parts[1]) }
        }
        return nil
    }

    static func anonymousName() -> String {
        "an_" + String((0..<6).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
    }

    static func json(_ object: [String: Any]) -> String {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static let page = """
    <!doctype html>
    <html><head><meta charset="utf-8"><title>pulse chat</title>
    <style>
      body { font: 15px/1.4 system-ui, sans-serif; margin: 0; display: grid; grid-template-columns: 1fr 14em; height: 100vh; }
      #wall { overflow-y: auto; padding: 1em; } #side { border-left: 1px solid #ddd; padding: 1em; background: #fafafa; }
      form { position: fixed; bottom: 0; left: 0; right: 14em; display: flex; padding: .5em; background: #fff; border-top: 1px solid #ddd; }
      input { flex: 1; font: inherit; padding: .4em; } .user { font-weight: 600; margin-right: .5em; } .time { color: #999; font-size: 80%; }
      .note { color: #888; font-style: italic; } footer { margin-top: 2em; font-size: 80%; color: #888; }
    </style></head>
    <body>
    <div id="wall"></div>
    <div id="side"><h3>In the room</h3><ul id="users"></ul>
    <footer>Also here: <a href="/hello">/hello</a>, <a href="/sleep?ms=200">/sleep</a>, <a href="/cpu?ms=50">/cpu</a>,
    POST /echo, /ws/echo. See <code>pulse ctl status</code>.</footer></div>
    <form id="form"><input id="text" autocomplete="off" placeholder="Say something"><button>Send</button></form>
    <script>
    const wall = document.getElementById('wall'), users = document.getElementById('users');
    const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/message');
    function line(html, cls) { const p = document.createElement('p'); p.className = cls || ''; p.innerHTML = html; wall.appendChild(p); wall.scrollTop = wall.scrollHeight; }
    function esc(s) { return String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c])); }
    function roster(list) { users.innerHTML = list.map(u => '<li>' + esc(u) + '</li>').join(''); }
    let present = [];
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.channel === 'webchat') {
        line('<span class="user">' + esc(data.user) + '</span>' + esc(data.message) + ' <span class="time">' + new Date(data.time * 1000).toLocaleTimeString() + '</span>');
      } else if (data.channel === 'chatuser') {
        if (data.event === 'users') { present = data.users; }
        if (data.event === 'joined') { if (!present.includes(data.user)) present.push(data.user); line(esc(data.user) + ' joined', 'note'); }
        if (data.event === 'gone') { present = present.filter(u => u !== data.user); line(esc(data.user) + ' left', 'note'); }
        roster(present.sort());
      } else if (data.channel === 'error') { line(esc(data.message), 'note');
      } else if (data.channel === 'status') { line(data.event === 'reconnecting' ? 'the chat lost its data store: reconnecting…' : 'reconnected', 'note'); }
    };
    socket.onclose = () => line('disconnected: reload the page to join again', 'note');
    document.getElementById('form').onsubmit = (event) => {
      event.preventDefault(); const text = document.getElementById('text');
      if (text.value) { socket.send(text.value); text.value = ''; }
    };
    </script></body></html>
    """
}
