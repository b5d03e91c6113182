import Testing

/// Suites that start many servers or push thousands of connections: they run one
/// test at a time among themselves, so on a 2-core machine they do not starve the
/// timing-sensitive tests that run beside them.
@Suite(.serialized, .blockingAllowed) enum HeavyTests {}
