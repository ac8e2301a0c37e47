/// `[postfix]`: how Vigie reaches Postfix's own tools (to hold and delete the queued
/// mail of a locked account).
public struct PostfixSettings: Sendable, Equatable {
    /// Postfix's configuration directory, passed as `-c` to postsuper
    /// (`config_directory`); nil for Postfix's default (/etc/postfix).
    public var configDirectory: String?
    /// The postsuper(1) program (`postsuper`).
    public var postsuper: String

    public init(configDirectory: String? = nil, postsuper: String = "/usr/sbin/postsuper") {
        self.configDirectory = configDirectory
        self.postsuper = postsuper
    }

    init(_ section: ConfigSection) throws(ConfigError) {
        try section.allowOnly(["config_directory", "postsuper"])
        self.init(
            configDirectory: try section.absolutePath("config_directory"),
            postsuper: try section.absolutePath("postsuper") ?? "/usr/sbin/postsuper"
        )
    }
}
