/// A configuration file Vigie refuses, and where: file, line and key.
///
/// Reads like a compiler diagnostic so an admin can jump to the spot:
/// `/etc/vigie/vigie.toml:12: limits.messages.per_hour: expected a positive integer or "unlimited", got -5`.
/// Every error the loader throws is one of these; the daemon refuses to start (or to
/// reload) on it and keeps the configuration it had.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file the problem is in (a conf.d file when that is where the key was written).
    public var file: String
    /// 1-based line, when the problem has one (not for "cannot read this file").
    public var line: Int?
    /// Dotted key path (`limits.messages.per_hour`), when the problem is about a key.
    public var key: String?
    /// What is wrong, and where useful what would be right.
    public var message: String

    public init(file: String, line: Int?, key: String?, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "\(key): " }
        return text + message
    }
}
