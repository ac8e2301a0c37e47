// [srs]: defaults, values, and refusals with file:line:key.

import Foundation
import Testing
@testable import VigieConfig

@Suite("[srs] configuration")
struct SRSSettingsTests {
    func parse(_ text: String) throws(ConfigError) -> SRSSettings {
        let notices = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/conf/notices"
        return try ConfigLoader.parse("[notices]\ndirectory = \"\(notices)\"\n" + text, file: "/etc/vigie/vigie.toml").srs
    }

    @Test("off by default; a full section parses")
    func values() throws {
        #expect(SRSSettings().enabled == false)
        let settings = try parse("""
        [srs]
        enabled = true
        domain = "Club.Example"
        secrets_file = "/etc/postsrsd.secret"
        excluded_domains = ["other.example", ".lists.example"]
        tcp_forward = "127.0.0.1:10001"
        tcp_reverse = ""
        socketmap = "unix:/var/spool/postfix/vigie/srs.sock"
        max_age = "30d"
        hash_encoding = "base64"
        """)
        #expect(settings.domain == "club.example")
        #expect(settings.tcpReverse == nil)
        #expect(settings.socketmap == .unix(path: "/var/spool/postfix/vigie/srs.sock"))
        #expect(settings.maximumAgeDays == 30)
        #expect(settings.excludedDomains == ["other.example", ".lists.example"])
    }

    @Test("refusals name file, line and key")
    func refusals() {
        let cases: [(String, String)] = [
            ("[srs]\nenabled = true\n", "srs.domain: missing"),
            ("[srs]\ntcp_forward = \"0.0.0.0:10001\"\n", ":4: srs.tcp_forward: "),
            // What the lookup service's own parser refused, before the configuration's was the only one.
            ("[srs]\ntcp_forward = \"10001\"\n", ":4: srs.tcp_forward: the port is missing"),
            ("[srs]\ntcp_forward = \"192.0.2.1:10001\"\n", ":4: srs.tcp_forward: the SRS lookup socket must listen on loopback"),
            ("[srs]\ntcp_reverse = \"127.0.0.1:0\"\n", ":4: srs.tcp_reverse: the port must be a number from 1 to 65535"),
            ("[srs]\ntcp_reverse = \"127.0.0.1:70000\"\n", ":4: srs.tcp_reverse: the port must be a number from 1 to 65535"),
            ("[srs]\nsocketmap = \"unix:relative\"\n", ":4: srs.socketmap: the unix socket path must be absolute"),
            ("[srs]\nsocketmap = \"inet:[::1]\"\n", ":4: srs.socketmap: the port is missing"),
            ("[srs]\nsocketmap = \"inet:::1:10003\"\n", ":4: srs.socketmap: the port is missing"),
            ("[srs]\nmax_age = \"36h\"\n", ":4: srs.max_age: expected whole days"),
            ("[srs]\nhash_encoding = \"hex\"\n", ":4: srs.hash_encoding:"),
            ("[srs]\nhash_length = 2\n", ":4: srs.hash_length:"),
            ("[srs]\nexcluded_domains = [\"bad domain\"]\n", ":4: srs.excluded_domains:"),
            ("[srs]\nsecret_file = \"/x\"\n", "did you mean secrets_file?"),
        ]
        for (text, expected) in cases {
            do {
                _ = try parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.contains(expected), "\(error.description)")
            }
        }
    }
}

@Suite("SRS lookup request timeout")
struct SRSRequestTimeoutTests {
    @Test func defaultAndConfigured() throws {
        #expect(try configuration("").srs.requestTimeout == .seconds(30))
        #expect(try configuration("[srs]\nrequest_timeout = \"5s\"\n").srs.requestTimeout == .seconds(5))
        let error = configError("[srs]\nrequest_timeout = \"0s\"\n")
        #expect(error?.key == "srs.request_timeout")
        #expect(error?.line == 2)
    }
}
