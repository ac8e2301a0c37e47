import Logging
import MilterTransport
import VigieConfig
import VigieControl
import VigieDMARC
#if canImport(Glibc)
import Glibc
#endif

/// What the `vigie` command line asks for (parsed by swift-argument-parser in the
/// `vigie` executable; this is what the daemon does with it).
public struct LaunchOptions: Sendable {
    public enum Role: String, Sendable, CaseIterable {
        /// Send limits for members' mail on `[daemon] socket`.
        case submission
        /// SPF and DKIM checks for the port-25 smtpd on `[inbound] socket`.
        case inbound
        /// DKIM signatures on members' mail on `[dkim.sign] socket`.
        case sign
    }

    public var configPath: String
    public var role: Role
    /// Validate the configuration and exit.
    public var checkOnly: Bool
    /// Log to standard error whatever `[logging]` says.
    public var forceStderr: Bool

    public init(configPath: String = "/etc/vigie/vigie.toml", role: Role = .submission, checkOnly: Bool = false,
                forceStderr: Bool = false) {
        self.configPath = configPath
        self.role = role
        self.checkOnly = checkOnly
        self.forceStderr = forceStderr
    }
}

public enum Launcher {
    /// `vigie --version`.
    public static var versionText: String { "vigie \(VigieVersion.current) (libmilter \(MilterServer.libraryVersion))" }

    /// Before anything else, before any thread exists: libmilter's signal thread must
    /// be the only one that receives SIGTERM/SIGHUP/SIGINT.
    public static func prepareProcess() {
        MilterServer.blockMilterSignals()
        // The sign role's reload signal, taken by its own thread (KeyReloadSignal).
        var reload = sigset_t()
        sigemptyset(&reload)
        sigaddset(&reload, SIGUSR1)
        pthread_sigmask(SIG_BLOCK, &reload, nil)
        MallocTuning.apply()
    }

    /// Runs the daemon (or the configuration check); returns the exit status.
    public static func run(_ options: LaunchOptions) -> Int32 {
        let configPath = options.configPath
        let checkOnly = options.checkOnly
        let forceStderr = options.forceStderr

        let configuration: VigieConfiguration
        do {
            configuration = try ConfigLoader.load(path: configPath)
        } catch {
            writeError("vigie: configuration error: \(error)")
            return 78 // EX_CONFIG
        }
        // The inbound role's Public Suffix List, read now so that a missing one is a
        // configuration error (file:line:key, exit 78) like any bad value, and
        // checked by --check-config too. The submission role does not need it.
        var publicSuffixList: PublicSuffixList?
        if configuration.inbound.dmarc, options.role == .inbound || checkOnly {
            do {
                publicSuffixList = try configuration.inbound.loadPublicSuffixList()
            } catch {
                writeError("vigie: configuration error: \(error)")
                return 78 // EX_CONFIG
            }
        }
        // The signing keys: read by the sign role only (SigningSettings says why),
        // and so checked by --check-config only with --role sign.
        if checkOnly && options.role == .sign {
            do {
                _ = try configuration.signing.loadKeys()
            } catch {
                writeError("vigie: configuration error: \(error)")
                return 78 // EX_CONFIG
            }
        }
        if checkOnly {
            print("vigie: configuration OK (\(configuration.sources.joined(separator: ", ")))")
            return 0
        }
        let destination: MailLogHandler.Destination =
            configuration.logging.destination == .syslog && !forceStderr ? .syslog : .stderr
        let level = Logger.Level(rawValue: configuration.logging.level) ?? .info
        if destination == .syslog { MailLogHandler.openSyslog(identity: "vigie") }
        LoggingSystem.bootstrap { MailLogHandler(label: $0, destination: destination, level: level) }
        let logger = Logger(label: "vigie")
        do {
            switch options.role {
            case .submission: try SubmissionRole.run(configuration: configuration, configPath: configPath, logger: logger)
            case .inbound:
                try InboundRole.run(configuration: configuration, publicSuffixList: publicSuffixList, logger: logger)
            case .sign: try SignRole.run(configuration: configuration, configPath: configPath, logger: logger)
            }
            return 0
        } catch {
            logger.critical("cannot run: \(error)")
            // Also on the terminal: whoever started vigie by hand must see why it stopped.
            if destination == .syslog { writeError("vigie: cannot run: \(error)") }
            return 1
        }
    }

    static func writeError(_ message: String) {
        let bytes = Array((message + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
