/// Why a data store call failed, in words and as a kind a caller can act on.
public struct DataStoreClientError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The store could not be reached, or the connection broke: it may be
        /// restarting; the call did not complete. Retry later.
        case unavailable
        /// No reply within the client's `replyTimeout`: the store is up but not
        /// answering (or not accepting yet).
        case timeout
        /// No pooled connection came free within `waitTimeout`.
        case poolExhausted
        /// The store answered with an error (a wrong type, a bad argument...).
        case reply
        /// The client is misused or misconfigured (a bad URL, no store configured).
        case usage
    }

    public let kind: Kind
    public let description: String

    public init(_ description: String, kind: Kind = .reply) {
        self.kind = kind
        self.description = description
    }

    /// The store is down or restarting, as opposed to refusing a command.
    public var isUnavailable: Bool { kind == .unavailable || kind == .timeout }
}
