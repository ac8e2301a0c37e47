/// Where something was written: a file and a 1-based line.
///
/// Kept on every TOML key and value, so that after conf.d files are merged over the
/// main file an error still names the file the offending line is in.
public struct TOMLLocation: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}
