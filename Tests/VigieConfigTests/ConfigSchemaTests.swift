import Testing
import VigieCore
@testable import VigieConfig

@Suite("Schema: defaults and values")
struct ConfigDefaultsTests {
    @Test func emptyFileGivesTheDefaults() throws {
        let config = try configuration("")
        #expect(config.daemon == DaemonSettings())
        #expect(config.daemon.socket == .unix(path: "/var/spool/postfix/vigie/milter.sock"))
        #expect(config.daemon.user == "vigie")
        #expect(config.daemon.socketGroup == "postfix")
        #expect(config.daemon.statePath == "/var/lib/vigie/state.sqlite")
        #expect(config.daemon.controlSocket == "/run/vigie/control.sock")
        #expect(config.daemon.adminGroup == "vigie-admin")
        #expect(config.daemon.flushInterval == .seconds(1))
        #expect(config.identity == IdentitySettings())
        #expect(config.identity.localDaemonName == "local-submission")
        #expect(config.policy == VigieConfiguration.defaultPolicy)
        #expect(config.policy.burst == .disabled)
        #expect(config.policy.groupCacheLifetime == .seconds(60))
        #expect(config.notices.languageTags == ["fr", "en"])
        #expect(config.notices.contact == "postmaster@localhost")
        #expect(config.notices.directory == shippedNotices)
        #expect(config.notices.timeZone == nil)
        #expect(config.notify == NotifySettings())
        #expect(config.postfix == PostfixSettings())
        #expect(config.sources == [inlineFile, shippedNotices + "/fr.toml", shippedNotices + "/en.toml"])
    }

    @Test func everyKeyIsRead() throws {
        let config = try configuration("""
        [daemon]
        socket = "inet:127.0.0.1:8899"
        user = "vigie2"
        socket_group = "mail"
        state_path = "/srv/vigie/state.sqlite"
        control_socket = "/run/vigie2/control.sock"
        admin_group = "wheel"
        flush_interval = "5s"
        decision_timeout = "3s"
        resident_accounts = 50000
        [identity]
        local_daemon_name = "pickup-local"
        domains = ["Example.ORG", "example.net"]
        [limits]
        recipients_per_message = 10
        group_cache = "5m"
        [burst]
        messages = 30
        recipients = 300
        window = "15m"
        refusals_in_a_row = 5
        [exempt]
        accounts = ["Root", "backup@example.org"]
        recipients = ["PostMaster", "<abuse@example.org>"]
        [notices]
        languages = ["en"]
        contact = "admins@example.org"
        directory = "\(shippedNotices)"
        time_zone = "Europe/Paris"
        [notify]
        enabled = false
        admin = "admins@example.org"
        member = false
        sendmail = "/usr/lib/sendmail"
        from = "vigie@example.org"
        member_domain = "Example.org"
        [postfix]
        config_directory = "/etc/postfix-out"
        postsuper = "/usr/local/sbin/postsuper"
        """)
        #expect(config.daemon == DaemonSettings(
            socket: .inet(host: "127.0.0.1", port: 8899), user: "vigie2", socketGroup: "mail",
            statePath: "/srv/vigie/state.sqlite", controlSocket: "/run/vigie2/control.sock",
            adminGroup: "wheel", flushInterval: .seconds(5), decisionTimeout: .seconds(3), residentAccounts: 50_000))
        #expect(config.identity.localDaemonName == "pickup-local")
        #expect(config.identity.domains == ["example.org", "example.net"])
        #expect(config.identity.normalizer.account(forLogin: "Bob@Example.org") == AccountName(normalized: "bob"))
        #expect(config.policy.limits.defaults.recipientsPerMessage == .maximum(10))
        #expect(config.policy.groupCacheLifetime == .seconds(300))
        #expect(config.policy.burst == BurstRule(messages: 30, recipients: 300, window: .seconds(900), refusalsInARow: 5))
        #expect(config.policy.exemptions.accounts == [AccountName(normalized: "root"), AccountName(normalized: "backup")])
        #expect(config.policy.exemptions.recipients == ["postmaster", "abuse@example.org"])
        #expect(config.notices.languageTags == ["en"])
        #expect(config.notices.contact == "admins@example.org")
        #expect(config.notices.timeZone == "Europe/Paris")
        #expect(config.notify == NotifySettings(enabled: false, admin: "admins@example.org", member: false,
                                                sendmail: "/usr/lib/sendmail", from: "vigie@example.org",
                                                memberDomain: "example.org"))
        #expect(config.postfix == PostfixSettings(configDirectory: "/etc/postfix-out", postsuper: "/usr/local/sbin/postsuper"))
    }

    @Test func limitsLeftOutKeepTheirDefaults() throws {
        let config = try configuration("""
        [limits.messages]
        per_hour = 300
        [limits.recipients]
        per_day = "unlimited"
        """)
        let defaults = config.policy.limits.defaults
        #expect(defaults.messages == [.minute: .maximum(20), .hour: .maximum(300), .day: .maximum(500)])
        #expect(defaults.recipients == [.minute: .maximum(100), .hour: .maximum(500), .day: .unlimited])
        #expect(defaults.recipientsPerMessage == .maximum(50))
    }

    @Test func groupAndAccountOverridesLandInTheLimitPolicy() throws {
        let config = try configuration("""
        [groups.newsletter]
        recipients_per_message = 300
        recipients = { per_day = 5000 }
        [groups.staff.messages]
        per_day = "unlimited"
        [accounts.Alice.messages]
        per_minute = 2
        [accounts."jean.dupont"]
        recipients_per_message = 5
        """)
        let limits = config.policy.limits
        #expect(limits.groups == [
            "newsletter": SendLimitsLayer(recipients: [.day: .maximum(5000)], recipientsPerMessage: .maximum(300)),
            "staff": SendLimitsLayer(messages: [.day: .unlimited]),
        ])
        #expect(limits.accounts == [
            AccountName(normalized: "alice"): SendLimitsLayer(messages: [.minute: .maximum(2)]),
            AccountName(normalized: "jean.dupont"): SendLimitsLayer(recipientsPerMessage: .maximum(5)),
        ])

        func check(_ limit: ResolvedLimit, _ value: LimitValue, _ source: LimitSource,
                   sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(limit.value == value, sourceLocation: sourceLocation)
            #expect(limit.source == source, sourceLocation: sourceLocation)
        }
        let bob = limits.resolve(for: AccountName(normalized: "bob"), memberOf: ["newsletter", "users"])
        check(bob.recipientsPerMessage, .maximum(300), .group("newsletter"))
        check(bob.limit(.recipients, .day), .maximum(5000), .group("newsletter"))
        check(bob.limit(.messages, .hour), .maximum(150), .defaults)

        let alice = limits.resolve(for: AccountName(normalized: "alice"), memberOf: ["staff"])
        check(alice.limit(.messages, .minute), .maximum(2), .account)
        check(alice.limit(.messages, .day), .unlimited, .group("staff"))
    }

    @Test func accountNamesFollowTheLoginNormalisation() throws {
        let config = try configuration("""
        [identity]
        domains = ["example.org"]
        [accounts."Carol@Example.org".messages]
        per_day = 7
        [exempt]
        accounts = ["Cron@example.org"]
        """)
        #expect(config.policy.limits.accounts[AccountName(normalized: "carol")]?.messages[.day] == .maximum(7))
        #expect(config.policy.exemptions.accounts == [AccountName(normalized: "cron")])
    }

    @Test func burstSignalsAreOffWhenZeroOrAbsent() throws {
        let config = try configuration("[burst]\nmessages = 0\nrecipients = 100\n")
        #expect(config.policy.burst == BurstRule(messages: nil, recipients: 100, window: .seconds(600), refusalsInARow: nil))
    }

    @Test func socketSpecs() throws {
        #expect(MilterSocketAddress("unix:/var/spool/postfix/vigie/milter.sock")?.libmilterSpec == "unix:/var/spool/postfix/vigie/milter.sock")
        #expect(MilterSocketAddress("inet:127.0.0.1:8899")?.libmilterSpec == "inet:8899@127.0.0.1")
        #expect(MilterSocketAddress("inet:localhost:8899") == .inet(host: "localhost", port: 8899))
        let ipv6 = try #require(MilterSocketAddress("inet:[::1]:8899"))
        #expect(ipv6 == .inet(host: "::1", port: 8899))
        #expect(ipv6.libmilterSpec == "inet6:8899@::1")
        #expect(ipv6.description == "inet:[::1]:8899")
        #expect(MilterSocketAddress("inet:127.1.2.3:25") != nil)
        #expect(MilterSocketAddress("inet:10.0.0.1:25") == nil)
        #expect(MilterSocketAddress("inet:1270.0.0.1:25") == nil)
        #expect(MilterSocketAddress("local:/x") == nil)
    }

    @Test func durations() {
        #expect(DurationSyntax.parse("90s") == .seconds(90))
        #expect(DurationSyntax.parse("10m") == .seconds(600))
        #expect(DurationSyntax.parse("1h") == .seconds(3600))
        #expect(DurationSyntax.parse("1d") == .seconds(86_400))
        for bad in ["", "s", "10", "1h30m", "1.5h", "-1s", "10 m", "10M", "+5s", "99999999999s"] {
            #expect(DurationSyntax.parse(bad) == nil, "\(bad)")
        }
    }
}

@Suite("Schema: errors")
struct ConfigSchemaErrorTests {
    @Test func errorTextNamesFileLineAndKey() throws {
        let error = try #require(configError("[limits.messages]\nper_hour = -5\n"))
        #expect(error == ConfigError(file: inlineFile, line: 2, key: "limits.messages.per_hour",
                                     message: "expected a positive integer or \"unlimited\", got -5"))
        #expect(error.description == "\(inlineFile):2: limits.messages.per_hour: expected a positive integer or \"unlimited\", got -5")
    }

    @Test func unknownKeySuggestsTheClosestOne() throws {
        let error = try #require(configError("[limits.messages]\nper_hour = 5\npre_day = 10\n"))
        #expect(error.description == "\(inlineFile):3: limits.messages.pre_day: unknown key; did you mean per_day?")
    }

    @Test func unknownTableSuggestsTheClosestOne() throws {
        let error = try #require(configError("\n[limit]\nrecipients_per_message = 5\n"))
        #expect(error.line == 2)
        #expect(error.key == "limit")
        #expect(error.message == "unknown key; did you mean limits?")
    }

    @Test func unknownKeyWithoutNearMatchListsTheKeys() throws {
        let error = try #require(configError("[notify]\ncolour = \"blue\"\n"))
        #expect(error.message == "unknown key; expected one of: enabled, admin, member, sendmail, from, member_domain")
    }

    @Test func unknownKeyInsideAGroup() throws {
        let error = try #require(configError("[groups.newsletter]\nrecipient_per_message = 5\n"))
        #expect(error.key == "groups.newsletter.recipient_per_message")
        #expect(error.message == "unknown key; did you mean recipients_per_message?")
    }

    /// (configuration, line, key, fragment of the message)
    static let impossible: [(String, Int?, String, String)] = [
        ("[daemon]\nuser = 5", 2, "daemon.user", "expected a \"string\", got 5"),
        ("[notify]\nenabled = \"yes\"", 2, "notify.enabled", "expected true or false, got \"yes\""),
        ("[identity]\ndomains = \"example.org\"", 2, "identity.domains", "expected an array of strings"),
        ("[exempt]\naccounts = [\"root\", 3]", 2, "exempt.accounts", "one element is 3"),
        ("[limits]\nmessages = 5", 2, "limits.messages", "expected a table ([limits.messages] with per_minute, per_hour, per_day), got 5"),
        ("[groups]\nnewsletter = 5", 2, "groups.newsletter", "expected a table"),
        ("daemon = \"x\"", 1, "daemon", "expected a table"),
        ("[limits.messages]\nper_day = 0", 2, "limits.messages.per_day", "expected a positive integer or \"unlimited\", got 0"),
        ("[limits.recipients]\nper_minute = \"lots\"", 2, "limits.recipients.per_minute", "got \"lots\""),
        ("[limits]\nrecipients_per_message = 2.5", 2, "limits.recipients_per_message", "got 2.5"),
        ("[accounts.bob]\nmessages.per_hour = -1", 2, "accounts.bob.messages.per_hour", "expected a positive integer"),
        ("[burst]\nwindow = \"0s\"", 2, "burst.window", "expected a duration from 1s to 1d, got \"0s\""),
        ("[burst]\nwindow = \"10 min\"", 2, "burst.window", "expected a duration such as \"90s\", \"10m\", \"1h\" or \"1d\", got \"10 min\""),
        ("[burst]\nwindow = 600", 2, "burst.window", "expected a duration"),
        ("[burst]\nmessages = -1", 2, "burst.messages", "or 0 to turn this signal off, got -1"),
        ("[limits]\ngroup_cache = \"0s\"", 2, "limits.group_cache", "from 1s to 1d"),
        ("[daemon]\nflush_interval = \"2h\"", 2, "daemon.flush_interval", "from 1s to 1h"),
        ("[daemon]\ndecision_timeout = \"30s\"", 2, "daemon.decision_timeout", "from 1s to 20s, got \"30s\""),
        ("[daemon]\ndecision_timeout = \"0s\"", 2, "daemon.decision_timeout", "from 1s to 20s"),
        ("[daemon]\nresident_accounts = 10", 2, "daemon.resident_accounts", "from 1000 to 10000000, got 10"),
        ("[daemon]\nresident_accounts = \"many\"", 2, "daemon.resident_accounts", "expected an integer"),
        ("[daemon]\nsocket = \"unix:\"", 2, "daemon.socket", "the unix socket path is empty"),
        ("[daemon]\nsocket = \"\"", 2, "daemon.socket", "expected \"unix:/absolute/path\" or \"inet:127.0.0.1:PORT\""),
        ("[daemon]\nsocket = \"unix:vigie.sock\"", 2, "daemon.socket", "must be absolute"),
        ("[daemon]\nsocket = \"unix:/\(String(repeating: "x", count: 120))\"", 2, "daemon.socket", "longer than 107 bytes"),
        ("[daemon]\nsocket = \"inet:192.0.2.1:8899\"", 2, "daemon.socket", "must listen on loopback"),
        ("[daemon]\nsocket = \"inet:0.0.0.0:8899\"", 2, "daemon.socket", "must listen on loopback"),
        ("[daemon]\nsocket = \"inet:127.0.0.1:99999\"", 2, "daemon.socket", "from 1 to 65535"),
        ("[daemon]\nsocket = \"inet:127.0.0.1\"", 2, "daemon.socket", "the port is missing"),
        ("[daemon]\nsocket = \"tcp:127.0.0.1:1\"", 2, "daemon.socket", "expected \"unix:/absolute/path\""),
        ("[daemon]\nstate_path = \"var/lib/vigie/state.sqlite\"", 2, "daemon.state_path", "expected an absolute path"),
        ("[daemon]\nuser = \"\"", 2, "daemon.user", "it is empty"),
        ("[daemon]\nsocket_group = \"post fix\"", 2, "daemon.socket_group", "blank"),
        ("[daemon]\ncontrol_socket = \"/var/spool/postfix/vigie/milter.sock\"", 2, "daemon.control_socket", "are the same file"),
        ("[postfix]\npostsuper = \"postsuper\"", 2, "postfix.postsuper", "expected an absolute path"),
        ("[postfix]\nconfig_directory = \"\"", 2, "postfix.config_directory", "expected an absolute path"),
        ("[notify]\nsendmail = \"sendmail\"", 2, "notify.sendmail", "expected an absolute path"),
        ("[notify]\nadmin = \"-oQ/tmp\"", 2, "notify.admin", "starts with '-'"),
        ("[notify]\nfrom = \"\"", 2, "notify.from", "it is empty"),
        ("[notify]\nmember_domain = \"exa mple.org\"", 2, "notify.member_domain", "only letters, digits"),
        ("[notify]\nmember_domain = \".org\"", 2, "notify.member_domain", "not a well-formed domain"),
        ("[identity]\ndomains = [\"@example.org\"]", 2, "identity.domains", "\"@example.org\" is wrong"),
        ("[identity]\nlocal_daemon_name = \"\"", 2, "identity.local_daemon_name", "it is empty"),
        ("[notices]\nlanguages = [\"de\"]", 2, "notices.languages", "no notice file for language \"de\""),
        ("[notices]\nlanguages = [\"../../etc/passwd\"]", 2, "notices.languages", "is not a language tag"),
        ("[notices]\nlanguages = []", 2, "notices.languages", "at least one language"),
        ("[notices]\nlanguages = [\"fr\", \"fr\"]", 2, "notices.languages", "\"fr\" is listed twice"),
        ("[notices]\ndirectory = \"notices\"", 2, "notices.directory", "expected an absolute path"),
        ("[notices]\ndirectory = \"/nonexistent/notices\"", 2, "notices.directory", "/nonexistent/notices/fr.toml does not exist"),
        ("[notices]\ntime_zone = \"Mars/Olympus_Mons\"", 2, "notices.time_zone", "unknown time zone"),
        ("[notices]\ncontact = \" \"", 2, "notices.contact", "is empty"),
        ("[groups.\"news letter\"]\nrecipients_per_message = 5", 1, "groups.\"news letter\"", "expected a Unix group name"),
        ("[accounts.Bob]\nrecipients_per_message = 5\n[accounts.bob]\nrecipients_per_message = 6", 3, "accounts.bob",
         "this is account bob again (already configured as accounts.Bob at line 1)"),
        ("[accounts.\"\"]\nrecipients_per_message = 5", 1, "accounts.\"\"", "expected an account"),
        ("[exempt]\nrecipients = [\"post master\"]", 2, "exempt.recipients", "\"post master\" is not one"),
        ("[burst]\nrecipients = 400\n[groups.newsletter]\nrecipients_per_message = 1000", 4, "groups.newsletter.recipients_per_message",
         "1000 recipients in one message would exceed burst.recipients (400 within 10m) and lock the sender on the spot"),
        ("[burst]\nrecipients = 30", 2, "burst.recipients", "50 recipients in one message (the built-in recipients_per_message) would exceed"),
        ("[burst]\nrecipients = 30\n[limits]\nrecipients_per_message = 40", 4, "limits.recipients_per_message", "40 recipients in one message would exceed"),
        ("[groups.x.burst]\nrecipients = 30", 2, "groups.x.burst.recipients",
         "50 recipients in one message (the built-in recipients_per_message) would exceed groups.x.burst.recipients (30 within 10m)"),
        ("[burst]\nrecipients = 400\n[groups.x]\nrecipients_per_message = 500\n[groups.x.burst]\nrecipients = 450", 4,
         "groups.x.recipients_per_message", "give groups.x a threshold of at least 500 ([groups.x.burst] recipients)"),
        ("[accounts.bob]\nrecipients_per_message = 500\n[burst]\nrecipients = 400", 2, "accounts.bob.recipients_per_message",
         "500 recipients in one message would exceed burst.recipients (400 within 10m)"),
        ("[groups.x.burst]\nwindow = \"5m\"", 2, "groups.x.burst.window", "unknown key; expected one of: messages, recipients"),
        ("[groups.x.burst]\nmessages = 0", 2, "groups.x.burst.messages", "expected a positive integer or \"unlimited\", got 0"),
        ("[limits.burst]\nmessages = 5", 1, "limits.burst", "unknown key"),
    ]

    @Test(arguments: impossible)
    func impossibleValuesAreRefused(text: String, line: Int?, key: String, fragment: String) throws {
        let error = try #require(configError(text))
        #expect(error.file == inlineFile, "\(error)")
        #expect(error.line == line, "\(error)")
        #expect(error.key == key, "\(error)")
        #expect(error.message.contains(fragment), "\(error)")
    }

    @Test func perLayerBurstThresholdsMakeRoomForBigMessages() throws {
        let config = try configuration("""
        [burst]
        messages = 40
        recipients = 400
        [groups.newsletter]
        recipients_per_message = 1000
        [groups.newsletter.burst]
        recipients = 2000
        messages = "unlimited"
        [accounts.lettre]
        recipients_per_message = 1500
        """)
        #expect(config.policy.limits.groups["newsletter"] ==
                SendLimitsLayer(recipientsPerMessage: .maximum(1000), burstMessages: .unlimited, burstRecipients: .maximum(2000)))
        // The account's groups are not known when loading: the most generous burst
        // threshold of any group may apply to it, so its cap is not refused.
        #expect(config.policy.limits.accounts[AccountName(normalized: "lettre")]?.recipientsPerMessage == .maximum(1500))
    }

    @Test func unlimitedCapIsNotCheckedAgainstTheBurst() throws {
        let config = try configuration("[burst]\nrecipients = 400\n[groups.staff]\nrecipients_per_message = \"unlimited\"\n")
        #expect(config.policy.limits.groups["staff"]?.recipientsPerMessage == .unlimited)
    }
}
