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
        if event.level >= .warning { line.append(contentsOf: event.level.mailLogTag.utf8) }
        let fields = metadata.isEmpty ? (event.metadata ?? [:]) : metadata.merging(event.metadata ?? [:]) { _, new in new }
        // Looked up once; the walk below skips it by position, not by comparing keys.
        let queueIndex = fields.index(forKey: Self.queueIDKey)
        if let queueIndex {
            Self.appendClean(Self.text(of: fields.values[queueIndex]), to: &line)
        } else {
            line.append(contentsOf: Self.noQueue)
        }
        line.append(UInt8(ascii: ":"))
        line.append(UInt8(ascii: " "))
        Self.appendClean(event.message.description, to: &line)
        // The other fields in key order, picked by walking the dictionary's indices
        // once per field (a line has a handful): no arrays of keys, texts and
        // positions to allocate, sort and free on every line, which cost more than
        // the line itself (callgrind). Past 16 fields, sorted the ordinary way.
        let count = fields.count - (queueIndex == nil ? 0 : 1)
        if count > 16 {
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) where key != Self.queueIDKey {
                Self.appendField(key, value, to: &line)
            }
        } else {
            var previous: Dictionary<String, Logger.MetadataValue>.Index?
            for _ in 0..<count {
                var next: Dictionary<String, Logger.MetadataValue>.Index?
                var index = fields.startIndex
                while index != fields.endIndex {
                    defer { index = fields.index(after: index) }
                    if index == queueIndex { continue }
                    let key = fields.keys[index]
                    if let previous, key <= fields.keys[previous] { continue }
                    if let best = next, key >= fields.keys[best] { continue }
                    next = index
                }
                guard let next else { break }
                Self.appendField(fields.keys[next], fields.values[next], to: &line)
                previous = next
            }
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

    private static let queueIDKey = "queue.id"
    private static let noQueue = Array("NOQUEUE".utf8)

    private static func appendField(_ key: String, _ value: Logger.MetadataValue, to line: inout [UInt8]) {
        line.append(UInt8(ascii: " "))
        appendClean(key, to: &line)
        line.append(UInt8(ascii: "="))
        appendQuoted(text(of: value), to: &line)
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
        var text = text
        text.withUTF8 { bytes in
            guard bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                line.append(contentsOf: bytes)  // nearly always: one copy
                return
            }
            for byte in bytes { line.append(byte < 0x20 || byte == 0x7F ? UInt8(ascii: " ") : byte) }
        }
    }

    /// Appends a value, in double quotes (with `"` turned into `'`) when it is empty
    /// or has a space, so `key=value` fields split unambiguously.
    static func appendQuoted(_ text: String, to line: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            // Nearly every value needs neither quotes nor cleaning: appended as it is.
            var needsQuotes = bytes.isEmpty
            for byte in bytes where byte <= 0x20 || byte == 0x7F {  // space or control
                needsQuotes = true
                break
            }
            guard needsQuotes else {
                line.append(contentsOf: bytes)
                return
            }
            line.append(UInt8(ascii: "\""))
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\""): line.append(UInt8(ascii: "'"))
                case ..<0x20, 0x7F: line.append(UInt8(ascii: " "))
                default: line.append(byte)
                }
            }
            line.append(UInt8(ascii: "\""))
        }
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
