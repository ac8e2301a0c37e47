import Foundation

/// Loads Vigie's configuration: the main file, then every `*.toml` in the `conf.d`
/// directory next to it, in name order.
///
/// Later files override earlier ones key by key: tables merge, while a value
/// (string, number, array) replaces the earlier one whole. So `conf.d/50-local.toml`
/// holding only `[limits.messages] per_hour = 300` changes that one limit and keeps
/// the rest of the shipped file. conf.d files are where local changes belong: the
/// main file stays as the package ships it, and upgrades stay clean.
///
/// Security: the files are the admin's (root-owned under /etc/vigie) and are read
/// before privileges are dropped; nothing in them is executed. Still, each file is
/// capped at 1 MiB, must be a regular file, and language tags may not name a path
/// outside the notices directory. Paths that end up in exec(2) calls (sendmail,
/// postsuper) must be absolute, and words passed to sendmail may not start with '-'.
/// Diagnostics: every refusal is a `ConfigError` naming the file (a conf.d file when
/// the offending line is there), the line and the key; the whole configuration is
/// refused, never half applied.
/// Known limitations: a conf.d file cannot remove a key, only override it; arrays
/// are replaced, not appended to (repeat the shipped entries to extend a list).
public enum ConfigLoader {
    /// Where the Debian package installs the main file.
    public static let defaultPath = "/etc/vigie/vigie.toml"

    /// Reads `path`, its conf.d directory and the notice files, and checks all of it.
    /// A relative `path` is taken from the current directory.
    public static func load(path: String) throws(ConfigError) -> VigieConfiguration {
        let mainFile = path.hasPrefix("/") ? path : ConfigFile.join(FileManager.default.currentDirectoryPath, path)
        var table = try ConfigFile.parse(mainFile).root
        var sources = [mainFile]
        for file in try ConfigFile.tomlFiles(in: confDirectory(forMainFile: mainFile)) {
            table = table.merging(try ConfigFile.parse(file).root)
            sources.append(file)
        }
        return try VigieConfiguration(table: table, mainFile: mainFile, sources: sources)
    }

    /// Reads configuration text that is not on disk (tests, `vigiectl check` on
    /// standard input). No conf.d is read. `file` names the text in errors, and the
    /// default notices directory is the `notices` directory next to it (relative to
    /// the current directory when `file` has no directory part); a test usually sets
    /// `[notices] directory` to an absolute path instead.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> VigieConfiguration {
        let document = try TOMLDocument(parsing: text, file: file)
        return try VigieConfiguration(table: document.root, mainFile: file, sources: [file])
    }

    /// The conf.d directory for a main file: `conf.d` next to it.
    public static func confDirectory(forMainFile path: String) -> String {
        ConfigFile.join(ConfigFile.directory(of: path), "conf.d")
    }
}
