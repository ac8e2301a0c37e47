import Prometheus
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `vigie_decision_seconds`: how long each milter stage's decision took, recorded
/// with two atomic additions and no lock, printed in the text swift-prometheus
/// prints for a `DurationHistogram` (its bucket bounds written by its own
/// `bucketRepresentation`).
///
/// Why not swift-prometheus's histogram: its `record` takes a mutex and walks and
/// increments every bucket (cumulative counts kept as such), about 870 instructions
/// per decision, two decisions per message (callgrind). Here a decision adds one to
/// the first bucket that holds it and its time to the sum; the buckets are summed
/// into Prometheus's cumulative form at each scrape. A scrape racing a decision may
/// print that decision in its bucket but not yet in the count (or the reverse): the
/// next scrape has both, as Prometheus expects of counters read at different instants.
final class DecisionHistogram: @unchecked Sendable {
    // @unchecked: `counts` is allocated once, never reallocated nor freed before
    // deinit, and only touched through its atomics.
    let name: String
    let help: String
    /// Upper bounds, in nanoseconds, ascending.
    private let bounds: [Int64]
    private let boundTexts: [String]
    /// One count per bound, then the count past the last bound (only in +Inf).
    private let counts: UnsafeMutablePointer<Atomic<Int>>
    private let sumNanoseconds = Atomic<Int64>(0)

    init(name: String, buckets: [Duration], help: String) {
        let sorted = buckets.sorted()
        self.name = name
        self.help = help
        self.bounds = sorted.map(Self.nanoseconds)
        self.boundTexts = sorted.map(\.bucketRepresentation)
        counts = .allocate(capacity: sorted.count + 1)
        for index in 0...sorted.count { (counts + index).initialize(to: Atomic(0)) }
    }

    deinit {
        counts.deinitialize(count: bounds.count + 1)
        counts.deallocate()
    }

    /// A decision's start, for `record(since:)`: the monotonic clock in nanoseconds,
    /// read directly (ContinuousClock's instants and `Duration.components` do 128-bit
    /// arithmetic, more instructions than the rest of the recording).
    static func start() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)
    }

    /// Records the time from `start` (`DecisionHistogram.start()`) to now.
    func record(since start: Int64) { record(nanoseconds: max(0, Self.start() - start)) }

    func record(nanoseconds value: Int64) {
        var index = 0
        while index < bounds.count, value > bounds[index] { index += 1 }
        counts[index].add(1, ordering: .relaxed)
        sumNanoseconds.add(value, ordering: .relaxed)
    }

    /// The family in the text exposition format, as swift-prometheus writes it.
    func emit(into buffer: inout [UInt8]) {
        buffer.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) histogram\n".utf8)
        var cumulative = 0
        for index in 0..<bounds.count {
            cumulative += counts[index].load(ordering: .relaxed)
            buffer.append(contentsOf: "\(name)_bucket{le=\"\(boundTexts[index])\"} \(cumulative)\n".utf8)
        }
        cumulative += counts[bounds.count].load(ordering: .relaxed)
        let sum = Duration.nanoseconds(sumNanoseconds.load(ordering: .relaxed))
        buffer.append(contentsOf: "\(name)_bucket{le=\"+Inf\"} \(cumulative)\n".utf8)
        buffer.append(contentsOf: "\(name)_sum \(sum.bucketRepresentation)\n".utf8)
        buffer.append(contentsOf: "\(name)_count \(cumulative)\n".utf8)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
}
