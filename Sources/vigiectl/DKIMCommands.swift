import ArgumentParser
import Foundation
import VigieConfig
import VigieCrypto
import VigieDKIM
import VigieDNS
import VigieSockets
#if canImport(Glibc)
import Glibc
#endif

/// `vigiectl dkim keygen|check`: make a signing key and the record to publish, and
/// check that the published record matches the key. Neither needs the daemon.
struct DKIM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dkim",
        abstract: "Make DKIM signing keys and check their published records.",
        discussion: """
        Rotation: make a key under a new selector, publish its record, wait for the old record's TTL, \
        switch [[dkim.sign.key]] to the new selector and reload the sign role (systemctl reload vigie-sign, \
        or kill -USR1), and keep the old record published a week so that mail signed with it still verifies.
        """,
        subcommands: [DKIMKeygen.self, DKIMCheck.self])
}

struct DKIMKeygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a new private key (mode 0600, owned by the daemon user) and print the DNS record to publish.")

    @Argument(help: "The signing domain (d=), e.g. club.example.")
    var domain: String

    @Argument(help: "The selector (s=), e.g. 2026 or 2026-ed.")
    var selector: String

    @Option(help: "rsa or ed25519.")
    var algorithm: String = "rsa"

    @Option(help: "RSA key size in bits (1024 to 8192).")
    var bits: Int = 2048

    @Option(help: "Key file to write; default /etc/vigie/dkim/DOMAIN.SELECTOR.pem.")
    var output: String?

    @Option(help: "The user the key file belongs to: the sign role reads it again at reload, after dropping privileges.")
    var owner: String = "vigie"

    @Flag(help: "Replace an existing key file.")
    var force = false

    func run() throws {
        let kind: PrivateKey.Kind
        switch algorithm {
        case "rsa": kind = .rsa(bits: bits)
        case "ed25519": kind = .ed25519
        default: throw ValidationError("--algorithm must be rsa or ed25519, got \(algorithm)")
        }
        if case .rsa = kind, bits < 1024 || bits > 8192 { throw ValidationError("--bits must be from 1024 to 8192 (2048 is usual), got \(bits)") }
        if case .rsa = kind, bits < 2048 {
            FileHandle.standardError.write(Data("vigiectl: warning: \(bits)-bit RSA keys are weak; 2048 is the usual size\n".utf8))
        }
        let domain = domain.lowercased()
        let path = output ?? "/etc/vigie/dkim/\(domain).\(selector).pem"
        let key = try PrivateKey.generate(kind)
        let pem = try key.pem
        try write(pem, to: path)
        let record = try DKIMKeyRecord(for: key)
        let algorithmName = kind == .ed25519 ? "ed25519-sha256" : "rsa-sha256"
        print("""
            ; DKIM key \(selector) for \(domain) (\(key.kind)); the private key is in \(path).
            ; Publish this record, then add to the configuration:
            ;   [[dkim.sign.key]]
            ;   domain = "\(domain)"
            ;   selector = "\(selector)"
            ;   file = "\(path)"
            ;   algorithm = "\(algorithmName)"
            \(record.zoneLine(selector: selector, domain: domain))
            """)
    }

    /// Writes the key through a temporary file (never a half-written key), 0600 from
    /// the start, owned by `owner` when run as root.
    private func write(_ bytes: [UInt8], to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o750])
        }
        if !force && FileManager.default.fileExists(atPath: path) {
            throw CleanExit.failure("\(path) exists; give --force to replace it (and publish the new record first)")
        }
        let temporary = "\(path).new-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CleanExit.failure("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var ok = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) == $0.count } && fsync(fd) == 0
        if geteuid() == 0 {
            guard let user = getpwnam(owner) else {
                close(fd)
                unlink(temporary)
                throw CleanExit.failure("no user \(owner) (give --owner USER: the [daemon] user)")
            }
            ok = ok && fchown(fd, user.pointee.pw_uid, user.pointee.pw_gid) == 0
            // The directory too, so that the daemon user reaches the key at reload.
            _ = chown(directory, 0, user.pointee.pw_gid)
        }
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CleanExit.failure("cannot write \(path): \(reason)")
        }
    }
}

struct DKIMCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check that SELECTOR._domainkey.DOMAIN publishes the public half of the private key.",
        discussion: "Exit status: 0 when the record matches, 1 when it does not or cannot be read.")

    @Argument(help: "The signing domain (d=).")
    var domain: String

    @Argument(help: "The selector (s=).")
    var selector: String

    @Option(help: "The private key file; default: the [[dkim.sign.key]] with this domain and selector, else /etc/vigie/dkim/DOMAIN.SELECTOR.pem.")
    var key: String?

    @Option(name: .long, help: "Vigie configuration file (to find the key file).")
    var config: String = "/etc/vigie/vigie.toml"

    @Option(name: .long, help: "DNS server as IP[:PORT] (repeatable); default: /etc/resolv.conf.")
    var nameserver: [String] = []

    func run() throws {
        let domain = domain.lowercased()
        let path = key ?? configuredKeyFile(domain: domain) ?? "/etc/vigie/dkim/\(domain).\(selector).pem"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CleanExit.failure("cannot read the key file \(path)")
        }
        let privateKey: PrivateKey
        do { privateKey = try PrivateKey(pem: Array(data)) } catch { throw CleanExit.failure("\(path): \(error)") }
        let expected = try DKIMKeyRecord(for: privateKey)

        let servers = try nameserver.map { text -> SocketAddress in
            guard let address = Nameserver.address(text) else { throw ValidationError("--nameserver expects IP or IP:PORT, got \(text)") }
            return address
        }
        let resolver = DNSResolver(configuration: .init(nameservers: servers, attemptTimeout: .seconds(2), lookupTimeout: .seconds(5)))
        let name = "\(selector)._domainkey.\(domain)"
        let answer: DNSAnswer
        switch resolver.lookup(name, .txt) {
        case .success(let got): answer = got
        case .failure(let failure): throw CleanExit.failure("\(name): DNS lookup failed (\(failure)); try again")
        }
        let texts: [String] = answer.records.compactMap {
            if case .text(let strings) = $0.data { return String(decoding: strings.joined(), as: UTF8.self) }
            return nil
        }
        guard !texts.isEmpty else { throw CleanExit.failure("\(name): no TXT record published; publish:\n\(expected.zoneLine(selector: selector, domain: domain))") }
        guard texts.count == 1 else { throw CleanExit.failure("\(name): \(texts.count) TXT records; verifiers need exactly one") }
        let published: DKIMKeyRecord
        switch DKIMKeyRecord.parse(texts[0]) {
        case .success(let record): published = record
        case .failure(let problem): throw CleanExit.failure("\(name): \(problem)")
        }
        guard !published.publicKey.isEmpty else { throw CleanExit.failure("\(name): the key is revoked (empty p=)") }
        guard published.keyType == expected.keyType else {
            throw CleanExit.failure("\(name): the record says k=\(published.keyType), the key file holds \(privateKey.kind)")
        }
        guard published.publicKey == expected.publicKey else {
            throw CleanExit.failure("\(name): the published key is not the public half of \(path); publish:\n\(expected.zoneLine(selector: selector, domain: domain))")
        }
        print("\(name): the published \(privateKey.kind) key matches \(path)")
    }

    private func configuredKeyFile(domain: String) -> String? {
        guard FileManager.default.fileExists(atPath: config) else { return nil }
        // A configuration that does not load (an unreadable key among others) gives
        // no answer here: the default path is tried, and --key names any other.
        guard let configuration = try? ConfigLoader.load(path: config) else { return nil }
        return configuration.signing.keys.first { $0.domain == domain && $0.selector == selector }?.file
    }
}
