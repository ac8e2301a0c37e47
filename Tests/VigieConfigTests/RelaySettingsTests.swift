import Testing
import VigieCore
@testable import VigieConfig

/// `[identity] relay_daemon_name`: the listener where the host relays without a login.
struct RelaySettingsTests {
    @Test func relayDaemonNameDefaultsAndIsRead() throws {
        #expect(try configuration("").identity.relayDaemonName == "local-relay")
        #expect(try configuration("[identity]\nrelay_daemon_name = \"web-relay\"\n").identity.relayDaemonName == "web-relay")
    }

    @Test func relayAndLocalDaemonNamesMustDiffer() throws {
        let error = try #require(configError("""
        [identity]
        relay_daemon_name = "local-submission"
        """))
        #expect(error.line == 2, "\(error)")
        #expect(error.key == "identity.relay_daemon_name", "\(error)")
        #expect(error.message.contains("a name of its own"), "\(error)")
        // Renaming the local path onto the relay default is blamed on the key written.
        let other = try #require(configError("""
        [identity]

        local_daemon_name = "local-relay"
        """))
        #expect(other.line == 3, "\(other)")
        #expect(other.key == "identity.local_daemon_name", "\(other)")
    }

    @Test func relayDaemonNameIsAWord() throws {
        let error = try #require(configError("[identity]\nrelay_daemon_name = \"local relay\"\n"))
        #expect(error.key == "identity.relay_daemon_name", "\(error)")
        #expect(error.line == 2)
    }

    /// The relay accounts take limits like any account (vigie.toml's example).
    @Test func relayAccountsTakeLimits() throws {
        let config = try configuration("""
        [accounts."relay:all".messages]
        per_hour = 300
        [accounts."relay:foreign".messages]
        per_hour = 10
        """)
        #expect(config.policy.limits.accounts[AccountNormalizer.relayedFromHost]?.messages[.hour] == .maximum(300))
        #expect(config.policy.limits.accounts[AccountNormalizer.foreignRelaySender]?.messages[.hour] == .maximum(10))
    }
}
