import Foundation
import VigieCrypto
#if canImport(Glibc)
import Glibc
#endif

/// `[dkim.sign]` and its `[[dkim.sign.key]]` table: DKIM signing of members' mail by
/// the `sign` role (`vigie --role sign`), attached to the submission smtpd and to
/// local submission after the submission role.
///
/// The key table is parsed with the rest; the key files are read by `loadKeys()`,
/// which only the role that signs calls: the sign role (at start and for `--role
/// sign --check-config`, as root before dropping privileges; again at reload,
/// SIGUSR1, as the daemon user), or with `in_submission` the submission role (as the
/// daemon user, after dropping privileges, and at `vigiectl reload`:
/// `vigiectl dkim keygen` writes them 0600 owned by that user for this reason). The
/// other roles never open them: their units may not read another user's 0600 file,
/// and they have no use for a private key. Each file is checked there (readable, a
/// private key of the stated algorithm, RSA of 1024 bits at least, not readable by
/// group or others), every problem at the key's file, line and key.
public struct SigningSettings: Sendable, Equatable {
    public struct Key: Sendable, Equatable {
        /// `domain`: the signing domain (`d=`).
        public var domain: String
        /// `selector`: `s=`; the key record is at SELECTOR._domainkey.DOMAIN.
        public var selector: String
        /// `file`: the PEM private key.
        public var file: String
        /// `algorithm`: "rsa-sha256" or "ed25519-sha256", checked against the key.
        public var algorithm: String
        /// `from_domains`: the From domains this key signs: "club.example" exactly,
        /// ".club.example" for every subdomain. Default: the signing domain only.
        public var fromDomains: [String]
        /// Where `file` and `algorithm` were written, for the errors of `loadPrivateKey()`.
        var fileOrigin: ConfigError
        var algorithmOrigin: ConfigError

        /// Reads and checks the key file (see the type's comment).
        public func loadPrivateKey() throws(ConfigError) -> PrivateKey {
            try SigningSettings.readKeyFile(file, algorithm: algorithm, fileOrigin: fileOrigin, algorithmOrigin: algorithmOrigin)
        }
    }

    /// Every key of the table with its private key read and checked (the sign role).
    public func loadKeys() throws(ConfigError) -> [(key: Key, privateKey: PrivateKey)] {
        var loaded: [(key: Key, privateKey: PrivateKey)] = []
        for key in keys { loaded.append((key, try key.loadPrivateKey())) }
        return loaded
    }

    /// `socket`: where Postfix reaches the sign role.
    public var socket: MilterSocketAddress = .unix(path: "/var/spool/postfix/vigie/sign.sock")
    /// `canonicalization`: "relaxed/relaxed" (default), "relaxed/simple", "simple/relaxed" or "simple/simple".
    public var headerCanonicalization = "relaxed"
    public var bodyCanonicalization = "relaxed"
    /// `headers`: the fields signed when present; nil is RFC 6376 §5.4.1's list.
    public var headers: [String]?
    /// `oversign`: the fields signed once more than they occur; nil is From, Subject,
    /// To, Cc, Reply-To and Date.
    public var oversign: [String]?
    /// `sign_forwarded`: also sign mail whose envelope sender is an SRS address (a
    /// forwarded copy); off by default, since the From is then someone else's.
    public var signForwarded = false
    /// `in_submission`: sign inside the submission milter instead of a sign role of
    /// its own: no second milter for Postfix to call, but the submission milter then
    /// also receives the headers and body of members' mail (without replies). Keys
    /// are then read by the submission role, as the daemon user, after it drops
    /// privileges (at start and at `vigiectl reload`).
    public var inSubmission = false
    /// `metrics_listen`: this role's Prometheus endpoint ("" for off).
    public var metricsHost: String? = "127.0.0.1"
    public var metricsPort: Int? = 9471
    /// `[[dkim.sign.key]]`, in the order written: every key whose `from_domains`
    /// match signs (an RSA and an Ed25519 key for one domain sign twice).
    public var keys: [Key] = []

    public init() {}

    static let keys = ["socket", "canonicalization", "headers", "oversign", "sign_forwarded", "in_submission", "metrics_listen", "key"]
    static let keyKeys = ["domain", "selector", "file", "algorithm", "from_domains"]

    init(_ section: ConfigSection) throws(ConfigError) {
        try section.allowOnly(Self.keys)
        var settings = SigningSettings()
        if let text = try section.string("socket") {
            switch MilterSocketAddress.parse(text) {
            case .success(let address): settings.socket = address
            case .failure(let problem): throw section.error("socket", problem.message)
            }
        }
        if let text = try section.string("canonicalization") {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, parts.allSatisfy({ $0 == "relaxed" || $0 == "simple" }) else {
                throw section.error("canonicalization", "expected \"relaxed/relaxed\", \"relaxed/simple\", \"simple/relaxed\" or \"simple/simple\" (header/body), got \(TOMLValue.quote(text))")
            }
            (settings.headerCanonicalization, settings.bodyCanonicalization) = (parts[0], parts[1])
        }
        for key in ["headers", "oversign"] {
            guard let names = try section.strings(key) else { continue }
            for name in names where !Self.isFieldName(name) {
                throw section.error(key, "expected header field names such as \"Subject\", got \(TOMLValue.quote(name))")
            }
            if key == "headers" {
                guard names.contains(where: { $0.caseInsensitiveCompare("From") == .orderedSame }) else {
                    throw section.error(key, "the list must hold From: RFC 6376 requires From to be signed")
                }
                settings.headers = names
            } else {
                settings.oversign = names
            }
        }
        if let flag = try section.bool("sign_forwarded") { settings.signForwarded = flag }
        if let flag = try section.bool("in_submission") { settings.inSubmission = flag }
        if let listen = try MetricsSettings.listen(section, key: "metrics_listen") {
            settings.metricsHost = listen.host
            settings.metricsPort = listen.port
        }
        settings.keys = try Self.readKeys(section)
        self = settings
    }

    /// A header field name: printable US-ASCII except ":" (RFC 5322 §2.2).
    static func isFieldName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 100 && name.utf8.allSatisfy { $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }
    }

    private static func readKeys(_ section: ConfigSection) throws(ConfigError) -> [Key] {
        guard let value = section.table["key"] else { return [] }
        guard let array = value.array, array.allSatisfy({ $0.table != nil }) else {
            throw section.error("key", "expected one [[dkim.sign.key]] table per key (domain, selector, file, algorithm), got \(value.summary)")
        }
        var keys: [Key] = []
        for (index, element) in array.enumerated() {
            let entry = ConfigSection(table: element.table!, path: section.path + ["key[\(index + 1)]"],
                                      location: element.location, file: section.file)
            try entry.allowOnly(keyKeys)
            guard let domain = try entry.domain("domain") else { throw entry.missing("domain", "the signing domain (d=), such as \"club.example\"") }
            guard let selector = try entry.string("selector") else { throw entry.missing("selector", "the selector (s=), such as \"2026\"") }
            guard !selector.isEmpty, TextCheck.domainProblem(selector) == nil else {
                throw entry.error("selector", "expected a selector made of letters, digits, '-' and '.', got \(TOMLValue.quote(selector))")
            }
            guard let file = try entry.absolutePath("file") else { throw entry.missing("file", "the private key file, such as \"/etc/vigie/dkim/\(domain).\(selector).pem\"") }
            guard let algorithm = try entry.string("algorithm") else { throw entry.missing("algorithm", "\"rsa-sha256\" or \"ed25519-sha256\"") }
            guard ["rsa-sha256", "ed25519-sha256"].contains(algorithm) else {
                throw entry.error("algorithm", "expected \"rsa-sha256\" or \"ed25519-sha256\", got \(TOMLValue.quote(algorithm))")
            }
            var fromDomains = [domain]
            if let list = try entry.strings("from_domains") {
                fromDomains = try list.map { text throws(ConfigError) in
                    let bare = text.hasPrefix(".") ? String(text.dropFirst()) : text
                    if let problem = TextCheck.domainProblem(bare) {
                        throw entry.error("from_domains", "expected domains such as \"club.example\" or \".club.example\" (every subdomain), but \(TOMLValue.quote(text)): \(problem)")
                    }
                    return text.lowercased()
                }
                guard !fromDomains.isEmpty else { throw entry.error("from_domains", "the list is empty: this key would sign nothing") }
            }
            if keys.contains(where: { $0.domain == domain && $0.selector == selector }) {
                throw entry.error("selector", "a second key for selector \(selector) of \(domain): one record in DNS can publish only one")
            }
            keys.append(Key(domain: domain, selector: selector, file: file, algorithm: algorithm, fromDomains: fromDomains,
                            fileOrigin: entry.error("file", ""), algorithmOrigin: entry.error("algorithm", "")))
        }
        return keys
    }

    /// Reads and checks one key file; every problem names the `file` key's line (a
    /// key of the wrong type, the `algorithm` key's).
    static func readKeyFile(_ path: String, algorithm: String, fileOrigin: ConfigError,
                            algorithmOrigin: ConfigError) throws(ConfigError) -> PrivateKey {
        struct Entry {
            let fileOrigin: ConfigError, algorithmOrigin: ConfigError
            func error(_ key: String, _ message: String) -> ConfigError {
                var error = key == "algorithm" ? algorithmOrigin : fileOrigin
                error.message = message
                return error
            }
        }
        let entry = Entry(fileOrigin: fileOrigin, algorithmOrigin: algorithmOrigin)
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw entry.error("file", "cannot read the key file \(path): \(String(cString: strerror(errno))); create one with: vigiectl dkim keygen DOMAIN SELECTOR")
        }
        guard status.st_mode & S_IFMT == S_IFREG else { throw entry.error("file", "\(path) is not a regular file") }
        // As opendkim's RequireSafeKeys: a key others can read is no longer secret.
        guard status.st_mode & 0o077 == 0 else {
            throw entry.error("file", "\(path) can be read or written by its group or others (mode \(String(status.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)")
        }
        guard status.st_size <= 64 * 1024, let data = FileManager.default.contents(atPath: path) else {
            throw entry.error("file", status.st_size > 64 * 1024 ? "\(path) is over 64 KiB: not a key file" : "cannot read the key file \(path): permission denied")
        }
        let key: PrivateKey
        do {
            key = try PrivateKey(pem: Array(data))
        } catch {
            throw entry.error("file", "\(path): \(error)")
        }
        switch (key.kind, algorithm) {
        case (.rsa(let bits), "rsa-sha256"):
            guard bits >= 1024 else {
                throw entry.error("file", "\(path) holds an RSA key of \(bits) bits, under the 1024 verifiers accept (RFC 8301); make a 2048-bit one with vigiectl dkim keygen")
            }
        case (.ed25519, "ed25519-sha256"):
            break
        default:
            throw entry.error("algorithm", "the key in \(path) is \(key.kind), which does not sign \(algorithm)")
        }
        return key
    }
}
