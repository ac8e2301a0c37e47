import Foundation
import Testing
@testable import VigieConfig

/// The package root, found from this file's path so tests read the shipped files.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/VigieConfigTests/TestSupport.swift
    return url.path
}()

let shippedConfig = packageRoot + "/conf/vigie.toml"
let shippedNotices = packageRoot + "/conf/notices"

/// A file name next to the shipped notices, so `ConfigLoader.parse` finds them by
/// default. The file need not exist: parse() reads text, not the disk.
let inlineFile = packageRoot + "/conf/inline-test.toml"

/// Parses configuration text with the shipped notices.
func configuration(_ text: String) throws(ConfigError) -> VigieConfiguration {
    try ConfigLoader.parse(text, file: inlineFile)
}

/// The error parsing `text` throws, or a test failure.
func configError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigError? {
    do {
        _ = try configuration(text)
        Issue.record("expected a ConfigError", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

func toml(_ text: String) throws(ConfigError) -> TOMLTable {
    try TOMLDocument(parsing: text, file: "t.toml").root
}

func tomlError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigError? {
    do {
        let table = try toml(text)
        Issue.record("expected a ConfigError, parsed \(table)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// A directory under the system temp dir, removed when the test ends.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("vigie-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Copies the shipped notice files into `notices/`.
    func copyShippedNotices() throws {
        try FileManager.default.createDirectory(atPath: path + "/notices", withIntermediateDirectories: true)
        for language in ["fr", "en"] {
            try FileManager.default.copyItem(atPath: "\(shippedNotices)/\(language).toml", toPath: "\(path)/notices/\(language).toml")
        }
    }
}
