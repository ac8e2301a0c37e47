import Foundation

/// Reading configuration files from disk, with errors an admin can act on.
enum ConfigFile {
    /// No configuration or notice file is anywhere near this; a bigger one is a
    /// mistake (a log or a database copied into conf.d) and is not worth reading.
    static let maximumBytes = 1 << 20

    static func read(_ path: String) throws(ConfigError) -> [UInt8] {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigError(file: path, line: nil, key: nil, message: "no such file")
        }
        if isDirectory.boolValue {
            throw ConfigError(file: path, line: nil, key: nil, message: "is a directory, expected a file")
        }
        let attributes = try? manager.attributesOfItem(atPath: path)
        if let type = attributes?[.type] as? FileAttributeType, type != .typeRegular {
            throw ConfigError(file: path, line: nil, key: nil, message: "is not a regular file")
        }
        if let size = attributes?[.size] as? NSNumber, size.intValue > maximumBytes {
            throw ConfigError(file: path, line: nil, key: nil, message: "is larger than \(maximumBytes / 1024) KiB; this cannot be a configuration file")
        }
        guard let data = manager.contents(atPath: path) else {
            throw ConfigError(file: path, line: nil, key: nil, message: "cannot be read (check that the user running Vigie may read it)")
        }
        return [UInt8](data)
    }

    static func parse(_ path: String) throws(ConfigError) -> TOMLDocument {
        try TOMLDocument(parsing: read(path), file: path)
    }

    /// The `*.toml` files of `directory` in byte order of their names, skipping
    /// hidden files (editors' and dpkg's leftovers end differently or start with a
    /// dot). A missing directory is an empty one.
    static func tomlFiles(in directory: String) throws(ConfigError) -> [String] {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: directory, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else {
            throw ConfigError(file: directory, line: nil, key: nil, message: "is not a directory; conf.d must be a directory of *.toml files")
        }
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: directory)
        } catch {
            throw ConfigError(file: directory, line: nil, key: nil, message: "cannot be listed (check that the user running Vigie may read it)")
        }
        return names
            .filter { $0.hasSuffix(".toml") && !$0.hasPrefix(".") }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .map { directory.hasSuffix("/") ? directory + $0 : directory + "/" + $0 }
    }

    /// The directory holding `path` ("." for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// `name` inside `directory`, without a leading "./" for the current directory.
    static func join(_ directory: String, _ name: String) -> String {
        if directory == "." { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
