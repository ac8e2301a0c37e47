import Foundation
import VigieDMARC

extension InboundSettings {
    /// The list is at most this big (Debian's is about 300 KB): a wrong path to a
    /// huge file is refused instead of read.
    static let maximumPublicSuffixListBytes = 16 << 20

    /// Reads and parses `public_suffix_list`. Called once when the inbound role
    /// starts with DMARC on (and by `--check-config`), not by every configuration
    /// parse: the configuration is parsed by both roles, by tests and by the
    /// config fuzzer, and only the inbound role needs the list. A missing,
    /// unreadable or empty file is a `ConfigError` at the key's file and line.
    public func loadPublicSuffixList() throws(ConfigError) -> PublicSuffixList {
        func refuse(_ message: String) -> ConfigError {
            var error = publicSuffixListOrigin
            error.message = message
            return error
        }
        let path = publicSuffixListPath
        guard FileManager.default.fileExists(atPath: path) else {
            throw refuse("the Public Suffix List \(path) does not exist: install Debian's publicsuffix package, or set public_suffix_list (or dmarc = false)")
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            throw refuse("cannot read the Public Suffix List \(path) (permission denied?)")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw refuse("the Public Suffix List \(path) is not a regular file")
        }
        if let size = attributes[.size] as? Int, size > Self.maximumPublicSuffixListBytes {
            throw refuse("the Public Suffix List \(path) is \(size) bytes, more than the \(Self.maximumPublicSuffixListBytes) a list can be")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw refuse("cannot read the Public Suffix List \(path) (permission denied?)")
        }
        do {
            return try PublicSuffixList(parsing: String(decoding: data, as: UTF8.self))
        } catch {
            throw refuse("\(path): \(error)")
        }
    }
}
