import ArgumentParser
import VigieDaemon

/// The `vigie` command line; the composition itself is VigieDaemon's `Launcher`.
struct Vigie: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigie",
        abstract: "Mail policy and anti-abuse milter for Postfix.",
        discussion: "Runs in the foreground; one line per decision on syslog's mail facility (or standard error).")

    @Option(name: [.short, .customLong("config")],
            help: "Configuration file (conf.d/ beside it is read too).")
    var config = "/etc/vigie/vigie.toml"

    @Option(help: """
        "submission": send limits for members' mail on [daemon] socket; \
        "inbound": SPF and DKIM checks for the port-25 smtpd on [inbound] socket; \
        "sign": DKIM signatures on members' mail on [dkim.sign] socket (SIGUSR1 reloads its keys).
        """)
    var role: LaunchOptions.Role = .submission

    @Flag(help: "Validate the configuration and exit.")
    var checkConfig = false

    @Flag(help: "Log to standard error whatever [logging] says (running in a terminal).")
    var stderr = false

    @Flag(help: "Print the version and exit.")
    var version = false

    func run() throws {
        if version {
            print(Launcher.versionText)
            return
        }
        let status = Launcher.run(LaunchOptions(configPath: config, role: role, checkOnly: checkConfig, forceStderr: stderr))
        if status != 0 { throw ExitCode(status) }
    }
}

extension LaunchOptions.Role: ExpressibleByArgument {}

// Before the parser or anything else starts a thread.
Launcher.prepareProcess()
Vigie.main()
