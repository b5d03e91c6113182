import Foundation
import NIOHTTP1

/// Whether a request may become a WebSocket (RFC 6455 4.2.1), and how to refuse one
/// that asks wrongly. Pure.
enum WebSocketHandshake {
    enum Verdict: Equatable {
        /// A well-formed opening handshake: upgrade.
        case upgrade
        /// It asks to upgrade, wrongly: answer this instead.
        case refuse(HTTPResponseStatus, [(String, String)])
        /// It does not ask to upgrade: an ordinary request.
        case ordinary

        static func == (lhs: Verdict, rhs: Verdict) -> Bool {
            switch (lhs, rhs) {
            case (.upgrade, .upgrade), (.ordinary, .ordinary): true
            case (.refuse(let a, let x), .refuse(let b, let y)): a == b && x.map { "\($0):\($1)" } == y.map { "\($0):\($1)" }
            default: false
            }
        }
    }

    static let versionHeaders = [("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]

    static func judge(_ head: HTTPRequestHead) -> Verdict {
        let upgrade = head.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
        guard upgrade else { return .ordinary }
        guard head.method == .GET else { return .refuse(.methodNotAllowed, [("Allow", "GET")]) }
        guard head.version == .http1_1 else { return .refuse(.badRequest, []) }
        let versions = head.headers["sec-websocket-version"]
        guard versions.count == 1, versions[0].trimmingOWS() == "13" else { return .refuse(.upgradeRequired, versionHeaders) }
        let keys = head.headers["sec-websocket-key"]
        guard keys.count == 1, let key = Data(base64Encoded: keys[0].trimmingOWS()), key.count == 16 else {
            return .refuse(.badRequest, [])
        }
        return .upgrade
    }
}
