import Testing
import VigieAuth
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
