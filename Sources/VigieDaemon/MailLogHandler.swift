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
    private let destination: Destination
    /// `label[pid]: ` as bytes, built once (stderr lines; syslog adds its own). The
    /// pid is read once: a getpid(2) per log line showed up in the benchmark's strace.
    private let stderrPrefix: [UInt8]
    private static let output = Mutex(())

    public init(label: String, destination: Destination = .stderr, level: Logger.Level = .info) {
        self.destination = destination
        self.logLevel = level
        self.stderrPrefix = Array("\(label)[\(getpid())]: ".utf8)
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
        // Built as UTF-8 bytes in one buffer: an accepted message logs one line, and
        // assembling it from interpolated Strings (merging dictionaries, Foundation's
        // `contains` to decide on quotes) was two fifths of the instructions Vigie
        // spent per message (callgrind on the daemon, benchmarks/README.md).
        var line: [UInt8] = []
        line.reserveCapacity(256)
        if destination == .stderr { line.append(contentsOf: stderrPrefix) }
        line.append(contentsOf: event.level.mailLogTag.utf8)
        let fields = metadata.isEmpty ? (event.metadata ?? [:]) : metadata.merging(event.metadata ?? [:]) { _, new in new }
        // One pass over the fields: the queue id picked out, the others' text taken
        // once, then their positions sorted by key (sorting the (key, value) pairs
        // themselves copied each metadata value through its value witness, and
        // looking each sorted key up again hashed it a second time).
        var queueID: String?
        var keys: [String] = [], texts: [String] = []
        keys.reserveCapacity(fields.count)
        texts.reserveCapacity(fields.count)
        for (key, value) in fields {
            if key == "queue.id" { queueID = Self.text(of: value) } else { keys.append(key); texts.append(Self.text(of: value)) }
        }
        var order = Array(keys.indices)
        order.sort { keys[$0] < keys[$1] }
        if let queueID {
            Self.appendClean(queueID, to: &line)
        } else {
            line.append(contentsOf: "NOQUEUE".utf8)
        }
        line.append(contentsOf: ": ".utf8)
        Self.appendClean(event.message.description, to: &line)
        for index in order {
            line.append(UInt8(ascii: " "))
            Self.appendClean(keys[index], to: &line)
            line.append(UInt8(ascii: "="))
            Self.appendQuoted(texts[index], to: &line)
        }
        if destination == .syslog {
            line.append(0)
            // syslog(3) is variadic; vsyslog with a "%s" format takes the line as data,
            // so a '%' in a login cannot be read as a format directive.
            line.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { text in
                    withVaList([text.baseAddress!]) { vsyslog(event.level.syslogPriority, "%s", $0) }
                }
            }
            return
        }
        line.append(UInt8(ascii: "\n"))
        // One write(2) per line, without a lock: a whole line in one call does not
        // interleave with other threads' lines (pipes up to PIPE_BUF, files: the
        // offset update is atomic), and holding a mutex across the system call made
        // every libmilter thread queue behind it at high concurrency. Only the rest
        // of a short write is finished under the lock.
        let written = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        guard written > 0, written < line.count else { return }
        Self.output.withLock { _ in
            var offset = written
            while offset < line.count {
                let more = line[offset...].withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
                if more <= 0 { break }
                offset += more
            }
        }
    }

    private static func text(of value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let value): value.description
        default: value.description
        }
    }

    /// Appends `text` with control characters (CR, LF, ...) turned into spaces, so a
    /// value cannot forge a log line. UTF-8 continuation bytes are all >= 0x80.
    static func appendClean(_ text: String, to line: inout [UInt8]) {
        let start = line.count
        line.append(contentsOf: text.utf8)  // one copy, then fix the rare control byte in place
        for index in start..<line.count where line[index] < 0x20 || line[index] == 0x7F {
            line[index] = UInt8(ascii: " ")
        }
    }

    /// Appends a value, in double quotes (with `"` turned into `'`) when it is empty
    /// or has a space, so `key=value` fields split unambiguously.
    static func appendQuoted(_ text: String, to line: inout [UInt8]) {
        // Appended as it is first (one copy), then checked in place: nearly every
        // value needs neither quotes nor cleaning.
        let start = line.count
        line.append(contentsOf: text.utf8)
        var needsQuotes = start == line.count
        for index in start..<line.count where line[index] <= 0x20 || line[index] == 0x7F {  // space or control
            needsQuotes = true
            break
        }
        guard needsQuotes else { return }
        line.removeSubrange(start...)
        line.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): line.append(UInt8(ascii: "'"))
            case ..<0x20, 0x7F: line.append(UInt8(ascii: " "))
            default: line.append(byte)
            }
        }
        line.append(UInt8(ascii: "\""))
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
