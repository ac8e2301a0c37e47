import ArgumentParser
import Foundation
import VigieAuth
import VigieDKIM
import VigieDNS
import VigieSPF

/// `vigiectl check`: runs Vigie's SPF and DKIM code on a message file and prints
/// the Authentication-Results header the daemon would add, and the verdict, like
/// opendkim-testmsg and spfquery. Needs no running daemon and no configuration.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check SPF and DKIM of a message file and print the Authentication-Results Vigie would add.",
        discussion: """
        Exit status: 0 when the message would be delivered, 2 when the SPF policy would refuse it, 1 when the \
        file cannot be read, 64 on a usage error.
        """)

    @Argument(help: "The message (RFC 5322 text, CRLF or LF line ends).")
    var messageFile: String

    @Option(name: .long, help: "The SMTP client's IP address (IPv4 or IPv6).")
    var clientIP: String

    @Option(name: .long, help: "The name the client gave in HELO/EHLO.")
    var helo: String

    @Option(name: .long, help: "The envelope sender (MAIL FROM); \"\" or \"<>\" for the null sender (HELO is checked then).")
    var mailFrom: String

    @Option(name: .long, help: "DNS server as IP[:PORT] (repeatable); default: /etc/resolv.conf.")
    var nameserver: [String] = []

    @Option(name: .long, help: "authserv-id written in Authentication-Results.")
    var authservID: String = ProcessInfo.processInfo.hostName

    @Option(name: .long, help: "Seconds allowed for all DNS lookups of each check.")
    var timeout: Double = 10

    @Option(name: .long, help: "SPF policy entry RESULT=ACTION (tag, reject, tempfail), repeatable; e.g. fail=reject.")
    var spfPolicy: [String] = []

    @Flag(name: .long, help: "Also print the Received-SPF header.")
    var receivedSPF = false

    func validate() throws {
        guard nameserver.allSatisfy({ Nameserver.address($0) != nil }) else {
            throw ValidationError("--nameserver takes an IP address with an optional port, e.g. 127.0.0.1:5353.")
        }
        guard timeout > 0 && timeout <= 120 else { throw ValidationError("--timeout must be between 0 and 120 seconds.") }
        _ = try policy()
    }

    func policy() throws -> InboundPolicy {
        var policy = InboundPolicy.default
        for entry in spfPolicy {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let result = SPFResult(rawValue: parts[0]), let action = InboundAction(rawValue: parts[1]) else {
                throw ValidationError("--spf-policy takes RESULT=ACTION, e.g. fail=reject (results: \(SPFResult.allCases.map(\.rawValue).joined(separator: ", ")); actions: tag, reject, tempfail).")
            }
            policy.spf[result] = action
        }
        return policy
    }

    func run() throws {
        guard let message = FileManager.default.contents(atPath: messageFile) else {
            throw CleanExit.failure("cannot read \(messageFile)")
        }
        let budget = Duration.milliseconds(Int64(timeout * 1000))
        let resolver = DNSResolver(configuration: .init(nameservers: nameserver.compactMap(Nameserver.address),
                                                        attemptTimeout: min(budget, .seconds(3)), lookupTimeout: budget))
        let spf = try SPFVerifier(resolver: resolver, receiver: authservID, checkTimeout: budget)
            .check(clientIP: clientIP, helo: helo, mailFrom: mailFrom)
        let dkim = try DKIMVerifier(resolver: resolver, limits: .init(timeout: budget)).verify(message: Array(message))

        let forged = AuthenticationResults.forgedHeaderPositions(
            headerValues: HeaderScan.values(of: AuthenticationResults.headerName, in: Array(message)), authservID: authservID)
        for position in forged {
            print("# would remove forged Authentication-Results #\(position) (claims \(authservID))")
        }
        if let note = dkim.note { print("# dkim: \(note)") }
        print("\(AuthenticationResults.headerName): \(AuthenticationResults.value(authservID: authservID, spf: spf, dkim: dkim))")
        if receivedSPF { print("\(ReceivedSPF.headerName): \(ReceivedSPF.value(spf, receiver: authservID))") }
        switch try policy().decide(spf) {
        case .deliver:
            print("verdict: deliver")
        case .refuse(let reply):
            print("verdict: refuse \(reply)")
            throw ExitCode(2)
        }
    }
}

/// Finds header values by name in a message file (unfolded), for the forged
/// Authentication-Results report.
enum HeaderScan {
    static func values(of name: String, in message: [UInt8]) -> [String] {
        let text = String(decoding: message, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        let header = text.components(separatedBy: "\n\n").first ?? ""
        var fields: [String] = []
        for line in header.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.first == " " || line.first == "\t", !fields.isEmpty { fields[fields.count - 1] += "\n" + line }
            else { fields.append(String(line)) }
        }
        let prefix = name.lowercased() + ":"
        return fields.filter { $0.lowercased().hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }
}
