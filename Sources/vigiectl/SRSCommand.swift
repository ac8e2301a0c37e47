import ArgumentParser
import Foundation
import VigieConfig
import VigieSRS

/// `vigiectl srs forward|reverse ADDRESS`: what the SRS tables answer, computed here
/// with the same secrets (no daemon needed). Prints the result on stdout; exits 1 with
/// a one-line reason when the address is left unchanged or refused.
struct SRS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "srs",
        abstract: "Test SRS rewriting by hand: forward a sender, reverse an SRS address.",
        discussion: "Reads [srs] from the configuration, or works alone with --secrets FILE --srs-domain DOMAIN (postsrsd's secret file is read as is).",
        subcommands: [SRSForward.self, SRSReverse.self]
    )
}

struct SRSOptions: ParsableArguments {
    @Option(name: .long, help: "Vigie configuration file (for [srs]).")
    var config: String = "/etc/vigie/vigie.toml"

    @Option(name: .long, help: "SRS secrets file, one secret per line (overrides the configuration).")
    var secrets: String?

    @Option(name: .customLong("srs-domain"), help: "SRS domain (overrides the configuration).")
    var srsDomain: String?

    @Option(name: .long, help: "Hash alphabet for forward: base64url or base64 (overrides the configuration).")
    var hashEncoding: String?

    func codec() throws -> SRSCodec {
        var settings = SRSSettings()
        if secrets == nil || srsDomain == nil {
            do {
                settings = try ConfigLoader.load(path: config).srs
            } catch {
                throw CleanExit.failure("cannot read \(config): \(error) (or give --secrets FILE --srs-domain DOMAIN)")
            }
        }
        guard let domain = srsDomain ?? settings.domain else {
            throw CleanExit.failure("no SRS domain: set [srs] domain in \(config) or give --srs-domain DOMAIN")
        }
        let encodingName = hashEncoding ?? settings.hashEncoding
        guard let encoding = SRSHashEncoding(rawValue: encodingName) else {
            throw CleanExit.failure("--hash-encoding must be base64url or base64, got \(encodingName)")
        }
        let loaded: (secrets: SRSSecrets, warning: String?)
        do {
            loaded = try SRSSecrets.load(path: secrets ?? settings.secretsFile)
        } catch {
            throw CleanExit.failure("\(error)")
        }
        let configuration = SRSConfiguration(domain: domain.lowercased(), excludedDomains: settings.excludedDomains,
                                             maximumAgeDays: settings.maximumAgeDays, hashLength: settings.hashLength,
                                             hashEncoding: encoding)
        return SRSCodec(configuration: configuration, secrets: loaded.secrets)
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }
}

struct SRSForward: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "forward", abstract: "Print the SRS address for a sender.")
    @OptionGroup var options: SRSOptions
    @Argument(help: "The envelope sender, e.g. alice@example.org.") var address: String
    @Option(name: .customLong("issued-at"), help: ArgumentHelp("Issue the address as if at this Unix time (to test expiry).", visibility: .hidden))
    var issuedAt: Int64?

    func run() throws {
        let codec = try options.codec()
        switch try codec.forward(address, now: issuedAt ?? SRSOptions.now) {
        case .rewritten(let srs): print(srs)
        case .unchanged(let reason): throw CleanExit.failure("\(address) is not rewritten: \(reason.rawValue)")
        }
    }
}

struct SRSReverse: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reverse", abstract: "Print the original address behind an SRS address.")
    @OptionGroup var options: SRSOptions
    @Argument(help: "The SRS address, e.g. SRS0=HHHH=TT=example.org=alice@srs.example.") var address: String

    func run() throws {
        let codec = try options.codec()
        switch try codec.reverse(address, now: SRSOptions.now) {
        case .original(let original): print(original)
        case .notSRS:
            throw CleanExit.failure("\(address) is not an SRS address of \(codec.configuration.domain)")
        case .refused(let refusal):
            throw CleanExit.failure("\(address) is refused: \(refusal.reason)")
        }
    }
}
