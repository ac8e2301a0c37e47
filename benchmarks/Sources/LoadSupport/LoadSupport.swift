// What the two load generators (MilterLoad, SMTPLoad) share: reading their command
// line and writing a whole buffer to a socket.

#if canImport(Glibc)
import Glibc
#endif

/// Prints "TOOL: message" on standard error and exits with status 2 (bad usage).
public func failUsage(_ tool: String, _ message: String) -> Never {
    let line = Array("\(tool): \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(2)
}

/// The command line's arguments, read one option at a time.
public struct OptionReader {
    private let tool: String
    private var arguments: IndexingIterator<ArraySlice<String>>

    public init(tool: String, arguments: [String] = CommandLine.arguments) {
        self.tool = tool
        self.arguments = arguments.dropFirst().makeIterator()
    }

    /// The next option, or nil at the end.
    public mutating func next() -> String? { arguments.next() }

    /// The value after `option`; a missing value ends the program with a usage error.
    public mutating func value(of option: String) -> String {
        guard let value = arguments.next() else { failUsage(tool, "\(option) needs a value") }
        return value
    }
}

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR. Returns the errno
/// of a failed write, nil when everything went out.
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
    bytes.withUnsafeBytes { raw -> Int32? in
        var offset = 0
        while offset < raw.count {
            let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return nil
    }
}

/// p50, p90, p99, max and mean in milliseconds of per-session latencies given in
/// nanoseconds, sorted ascending (nearest-rank percentiles; zeros when empty).
public func latencySummary<Nanos: BinaryInteger>(sortedNanos latencies: [Nanos]) -> [String: Double] {
    func percentile(_ p: Double) -> Double {
        guard !latencies.isEmpty else { return 0 }
        let index = min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)
        return Double(latencies[max(0, index)]) / 1e6
    }
    let mean = latencies.isEmpty ? 0 : latencies.reduce(0.0) { $0 + Double($1) } / Double(latencies.count) / 1e6
    return ["p50": percentile(0.50), "p90": percentile(0.90), "p99": percentile(0.99), "max": percentile(1.0), "mean": mean]
}
