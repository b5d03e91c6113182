/// The fewest and most workers an autoscaled service may have: `1:4` on the
/// command line (`--autoscale 1:4`) and on the control socket (`autoscale 1:4`).
public struct AutoscaleBounds: Sendable, Equatable, CustomStringConvertible {
    public let min: Int
    public let max: Int

    /// Nil unless `1 <= min <= max`.
    public init?(min: Int, max: Int) {
        guard min >= 1, max >= min else { return nil }
        self.min = min
        self.max = max
    }

    /// `MIN:MAX`, both whole numbers, with `1 <= MIN <= MAX`.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let min = Int(parts[0]), let max = Int(parts[1]) else { return nil }
        self.init(min: min, max: max)
    }

    /// The wire and flag form, `1:4`.
    public var description: String { "\(min):\(max)" }

    /// `count` moved into the bounds.
    public func clamp(_ count: Int) -> Int { Swift.min(Swift.max(count, min), max) }

    public func contains(_ count: Int) -> Bool { (min...max).contains(count) }
}
