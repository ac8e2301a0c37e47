import Foundation
import Testing
import VigieAuth
import VigieDMARC
import VigieDNS
@testable import VigieConfig

@Suite("[inbound] settings")
struct InboundSettingsTests {
    @Test("defaults: tag everything but temperror, host name as authserv-id, resolv.conf")
    func defaults() {
        let settings = InboundSettings()
        #expect(settings.spfActions == [.temperror: .tempfail])
        #expect(settings.authservID == nil)
        #expect(settings.nameservers.isEmpty)
        #expect(settings.maximumSignatures == 5)
    }
}

@Suite("[inbound] settings from a file")
struct InboundSettingsParsingTests {
    @Test("every key is read")
    func everyKey() throws {
        let inbound = try configuration("""
            [inbound]
            socket = "unix:/var/spool/postfix/vigie/in.sock"
            authserv_id = "mx.example.org"
            nameservers = ["127.0.0.1:5353", "::1"]
            dns_timeout = "5s"
            spf_fail = "reject"
            spf_temperror = "tag"
            spf_permerror = "reject"
            received_spf = true
            max_signatures = 3
            """).inbound
        #expect(inbound.socket == .unix(path: "/var/spool/postfix/vigie/in.sock"))
        #expect(inbound.authservID == "mx.example.org")
        // Checked field by field, not against the parser's own output: port 53 by default.
        #expect(inbound.nameservers.map(\.host) == ["127.0.0.1", "::1"])
        #expect(inbound.nameservers.map(\.port) == [5353, 53])
        #expect(inbound.dnsTimeout == .seconds(5))
        #expect(inbound.spfActions == [.fail: .reject, .temperror: .tag, .permerror: .reject])
        #expect(inbound.receivedSPF)
        #expect(inbound.maximumSignatures == 3)
    }

    @Test("an action a result does not allow is refused with the key and the choices")
    func wrongAction() {
        let error = configError("[inbound]\nspf_temperror = \"reject\"\n")
        #expect(error?.key == "inbound.spf_temperror")
        #expect(error?.message.contains("\"tempfail\" or \"tag\"") == true, "\(String(describing: error))")
        #expect(configError("[inbound]\nspf_fail = \"tempfail\"\n")?.key == "inbound.spf_fail")
        #expect(configError("[inbound]\nmax_signatures = 0\n")?.key == "inbound.max_signatures")
        #expect(configError("[inbound]\nspf_pass = \"reject\"\n") != nil)
        // A name where an address must be: refused by the check, not at start.
        let name = configError("[inbound]\nnameservers = [\"dns.example\"]\n")
        #expect(name?.key == "inbound.nameservers")
        #expect(name?.line == 2)
        #expect(configError("[inbound]\nnameservers = [\"127.0.0.1:99999\"]\n")?.key == "inbound.nameservers")
    }
}

@Suite("[inbound] DMARC settings")
struct InboundDMARCSettingsTests {
    @Test("DMARC is on and tags only by default; Debian's list is the default path")
    func defaults() throws {
        let inbound = try configuration("[inbound]\n").inbound
        #expect(inbound.dmarc)
        #expect(inbound.dmarcActions == DMARCActions(quarantine: .tag, reject: .tag))
        #expect(inbound.publicSuffixListPath == "/usr/share/publicsuffix/public_suffix_list.dat")
        let list = try inbound.loadPublicSuffixList()
        #expect(list.organisationalDomain(of: "mail.example.co.uk") == "example.co.uk")
    }

    @Test("the action keys are read, and refused with their choices")
    func actions() throws {
        let inbound = try configuration("[inbound]\ndmarc = false\ndmarc_quarantine = \"hold\"\ndmarc_reject = \"reject\"\n").inbound
        #expect(!inbound.dmarc)
        #expect(inbound.dmarcActions == DMARCActions(quarantine: .hold, reject: .reject))
        let wrong = configError("[inbound]\ndmarc_quarantine = \"reject\"\n")
        #expect(wrong?.key == "inbound.dmarc_quarantine")
        #expect(wrong?.line == 2)
        #expect(wrong?.message.contains("\"tag\", \"hold\"") == true, "\(String(describing: wrong))")
        #expect(configError("[inbound]\ndmarc_reject = \"tempfail\"\n")?.key == "inbound.dmarc_reject")
        #expect(configError("[inbound]\npublic_suffix_list = \"relative.dat\"\n")?.key == "inbound.public_suffix_list")
    }

    @Test("a missing or empty list is refused at the key's file and line when loaded")
    func missingList() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigie-psl-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = try configuration("[inbound]\n\npublic_suffix_list = \"\(directory)/none.dat\"\n").inbound
        do {
            _ = try missing.loadPublicSuffixList()
            Issue.record("a missing list was loaded")
        } catch {
            #expect(error.file == inlineFile)
            #expect(error.line == 3)
            #expect(error.key == "inbound.public_suffix_list")
            #expect(error.message.contains("publicsuffix"), "\(error)")
        }
        try "// nothing but comments\n".write(toFile: "\(directory)/empty.dat", atomically: true, encoding: .utf8)
        let empty = try configuration("[inbound]\npublic_suffix_list = \"\(directory)/empty.dat\"\n").inbound
        #expect(throws: ConfigError.self) { try empty.loadPublicSuffixList() }
        let directoryPath = try configuration("[inbound]\npublic_suffix_list = \"\(directory)\"\n").inbound
        #expect(throws: ConfigError.self) { try directoryPath.loadPublicSuffixList() }
    }
}
