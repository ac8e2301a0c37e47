import VigieCrypto
#if canImport(Glibc)
import Glibc
#endif

/// The SRS secrets: one per line, the first signs, every one verifies (key rotation:
/// put the new secret on top, keep the old one below for the 21 days its addresses
/// stay valid, then drop it).
///
/// The file format is postsrsd's (1.x and 2.x), read the way postsrsd 1.x reads it:
/// each line up to its first CR or LF is one secret, blank lines are skipped, and
/// spaces are part of the secret. So `/etc/postsrsd.secret` is read as is, and bounces
/// to addresses postsrsd issued keep working after the switch.
///
/// Security: the file should be mode 0600 (or 0640 group vigie) and owned by root; it
/// is read once, before privileges are dropped. A warning is returned when others may
/// read it. Secret bytes are handed to libssl at once and not kept in Swift strings.
/// Known limitations: a line longer than 1023 bytes is cut by postsrsd 1.x into several
/// secrets; Vigie keeps it whole, so such a file would not interoperate (none exists
/// in practice: postsrsd generates 18-byte base64 secrets).
public struct SRSSecrets: Sendable {
    /// HMAC keys, signing key first.
    public let keys: [HMACKey]

    /// Keys from the file's bytes.
    public init(fileContents: [UInt8]) throws(SRSSecretsError) {
        var keys: [HMACKey] = []
        for line in fileContents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            let secret = line.prefix { $0 != UInt8(ascii: "\r") }
            guard !secret.isEmpty else { continue }
            do {
                keys.append(try HMACKey(key: Array(secret), digest: .sha1))
            } catch {
                throw .crypto(error.description)
            }
        }
        guard !keys.isEmpty else { throw .empty }
        self.keys = keys
    }

    /// Keys from secrets given as strings (tests, tools).
    public init(secrets: [String]) throws(SRSSecretsError) {
        try self.init(fileContents: Array(secrets.joined(separator: "\n").utf8))
    }

    /// Reads `path`. Also returns a warning when the file is readable by others.
    public static func load(path: String) throws(SRSSecretsError) -> (secrets: SRSSecrets, warning: String?) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw .unreadable(path: path, reason: "not a regular file")
        }
        guard status.st_size <= 65_536 else { throw .unreadable(path: path, reason: "larger than 64 KiB; is this really a secrets file?") }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer.prefix(count))
        }
        let secrets: SRSSecrets
        do {
            secrets = try SRSSecrets(fileContents: bytes)
        } catch .empty {
            throw .emptyFile(path: path)
        }
        let warning = (status.st_mode & 0o004) != 0
            ? "\(path) is readable by every user; anyone who reads it can forge SRS addresses (chmod 600 \(path))" : nil
        return (secrets, warning)
    }
}

/// Why the secrets could not be loaded; every case says what to do.
public enum SRSSecretsError: Error, CustomStringConvertible, Sendable, Equatable {
    case unreadable(path: String, reason: String)
    case emptyFile(path: String)
    case empty
    case crypto(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "cannot read the SRS secrets file \(path): \(reason); create it with: head -c 18 /dev/urandom | base64 > \(path) && chmod 600 \(path)"
        case .emptyFile(let path):
            "the SRS secrets file \(path) holds no secret; put one random line in it: head -c 18 /dev/urandom | base64 > \(path)"
        case .empty:
            "no SRS secret given"
        case .crypto(let message):
            message
        }
    }
}
