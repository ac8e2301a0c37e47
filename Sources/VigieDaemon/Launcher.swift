import Logging
import MilterTransport
import VigieConfig
import VigieControl
#if canImport(Glibc)
import Glibc
#endif

/// The `vigie` command line: `vigie [--config FILE] [--role ROLE] [--check-config]`.
public enum Launcher {
    static let usage = """
    usage: vigie [--config FILE] [--role submission|inbound] [--check-config] [--stderr] [--version]
      --config FILE    configuration file (default /etc/vigie/vigie.toml; conf.d/ beside it is read too)
      --role ROLE      "submission" (default): send limits for members' mail on [daemon] socket;
                       "inbound": SPF and DKIM checks for the port-25 smtpd on [inbound] socket
      --check-config   validate the configuration and exit
      --stderr         log to standard error whatever [logging] says (running in a terminal)
    """

    public static func main(arguments: [String]) -> Int32 {
        // Before any thread exists: libmilter's signal thread must be the only one
        // that receives SIGTERM/SIGHUP/SIGINT.
        MilterServer.blockMilterSignals()
        MallocTuning.apply()

        var configPath = "/etc/vigie/vigie.toml"
        var checkOnly = false
        var forceStderr = false
        var inboundRole = false
        var index = 1
        while index < arguments.count {
            switch arguments[index] {
            case "--config", "-c":
                guard index + 1 < arguments.count else { return fail("--config needs a file") }
                configPath = arguments[index + 1]
                index += 1
            case "--role":
                guard index + 1 < arguments.count else { return fail("--role needs submission or inbound") }
                switch arguments[index + 1] {
                case "submission": inboundRole = false
                case "inbound": inboundRole = true
                default: return fail("--role takes submission or inbound, not \(arguments[index + 1])")
                }
                index += 1
            case "--check-config":
                checkOnly = true
            case "--stderr":
                forceStderr = true
            case "--version":
                print("vigie \(VigieVersion.current) (libmilter \(MilterServer.libraryVersion))")
                return 0
            case "--help", "-h":
                print(usage)
                return 0
            default:
                return fail("unknown option \(arguments[index])")
            }
            index += 1
        }

        let configuration: VigieConfiguration
        do {
            configuration = try ConfigLoader.load(path: configPath)
        } catch {
            writeError("vigie: configuration error: \(error)")
            return 78 // EX_CONFIG
        }
        if let unavailable = configuration.store.unavailableBackend {
            writeError("vigie: configuration error: \(unavailable)")
            return 78 // EX_CONFIG
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
            if inboundRole {
                try InboundDaemon.run(configuration: configuration, logger: logger)
            } else {
                try Daemon.run(configuration: configuration, configPath: configPath, logger: logger)
            }
            return 0
        } catch {
            logger.critical("cannot run: \(error)")
            // Also on the terminal: whoever started vigie by hand must see why it stopped.
            if destination == .syslog { writeError("vigie: cannot run: \(error)") }
            return 1
        }
    }

    private static func fail(_ message: String) -> Int32 {
        writeError("vigie: \(message)\n\(usage)")
        return 64 // EX_USAGE
    }

    static func writeError(_ message: String) {
        let bytes = Array((message + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
