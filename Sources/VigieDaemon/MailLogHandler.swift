import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Log lines the way mail admins read them: the Postfix queue id first (or
/// NOQUEUE), then the message, then `key=value` fields, one line per event, so
/// `grep QUEUEID` finds Vigie's lines next to Postfix's.
///
/// Writes to syslog with the mail facility (so lines land in /var/log/mail.log
/// next to Postfix's), or to stderr (journald, tests). Values are sanitised: a login
/// or address with a newline must not forge a log line.
public struct MailLogHandler: LogHandler {
    public enum Destination: Sendable {
        case syslog
        case stderr
    }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let destination: Destination
    private static let output = Mutex(())
    /// Read once: a getpid(2) per log line showed up in the benchmark's strace.
    private static let pid = getpid()

    public init(label: String, destination: Destination = .stderr, level: Logger.Level = .info) {
        self.label = label
        self.destination = destination
        self.logLevel = level
    }

    /// Opens syslog once, with the mail facility and the pid in every line.
    public static func openSyslog(identity: String) {
        // openlog keeps the pointer: the identity string must live for the process.
        let name = strdup(identity)
        openlog(name, LOG_PID | LOG_NDELAY, LOG_MAIL)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let queueID = merged.removeValue(forKey: "queue.id").map { "\($0)" } ?? "NOQUEUE"
        var line = "\(event.level.mailLogTag)\(queueID): \(Self.clean("\(event.message)"))"
        for key in merged.keys.sorted() {
            line += " \(key)=\(Self.quoted(Self.clean("\(merged[key]!)")))"
        }
        if destination == .syslog {
            // syslog(3) is variadic; vsyslog with a "%s" format takes the line as data,
            // so a '%' in a login cannot be read as a format directive.
            line.withCString { text in
                withVaList([text]) { vsyslog(event.level.syslogPriority, "%s", $0) }
            }
            return
        }
        line = "\(label)[\(Self.pid)]: " + line + "\n"
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
    var syslogPriority: Int32 {
        switch self {
        case .trace, .debug: LOG_DEBUG
        case .info: LOG_INFO
        case .notice: LOG_NOTICE
        case .warning: LOG_WARNING
        case .error: LOG_ERR
        case .critical: LOG_CRIT
        }
    }

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
