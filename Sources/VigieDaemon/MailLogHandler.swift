import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Log lines the way mail admins read them: the Postfix queue id first (or
/// NOQUEUE), then the message, then `key=value` fields, one line per event, so
/// `grep QUEUEID` finds Vigie's lines next to Postfix's.
///
/// Writes to stderr (journald or the test harness collects it). Values are
/// sanitised: a login or address with a newline must not forge a log line.
public struct MailLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private static let output = Mutex(())

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let queueID = merged.removeValue(forKey: "queue.id").map { "\($0)" } ?? "NOQUEUE"
        var line = "\(label)[\(getpid())]: \(event.level.mailLogTag)\(queueID): \(Self.clean("\(event.message)"))"
        for key in merged.keys.sorted() {
            line += " \(key)=\(Self.quoted(Self.clean("\(merged[key]!)")))"
        }
        line += "\n"
        let bytes = Array(line.utf8)
        Self.output.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
                if written <= 0 { break }
                offset += written
            }
        }
    }

    static func clean(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
    }

    static func quoted(_ value: String) -> String {
        value.contains(" ") || value.isEmpty ? "\"\(value.replacingOccurrences(of: "\"", with: "'"))\"" : value
    }
}

extension Logger.Level {
    /// Postfix-style severity prefix; nothing for ordinary lines.
    var mailLogTag: String {
        switch self {
        case .trace, .debug, .info, .notice: ""
        case .warning: "warning: "
        case .error: "error: "
        case .critical: "fatal: "
        }
    }
}

private extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
