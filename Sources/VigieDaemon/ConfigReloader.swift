import Logging
import Synchronization
import VigieConfig
import VigieCore

/// `vigiectl reload`: reads the configuration again and puts it in force without a
/// restart. libmilter stops the filter on SIGHUP, so this goes through the control
/// socket instead of a signal.
///
/// A file that does not load is refused with its file:line:key error and the
/// running configuration stays. Settings that only take effect at start-up (the
/// [daemon] section: sockets, user, state path) are reported, not applied.
final class ConfigReloader: Sendable {
    private let path: String
    private let running: Mutex<VigieConfiguration>
    private let apply: @Sendable (VigieConfiguration) -> Void
    /// Run on the new configuration before anything is swapped: what can still fail
    /// (reading key files) refuses the whole reload.
    private let prepare: @Sendable (VigieConfiguration) throws -> Void
    private let logger: Logger

    init(path: String, running: VigieConfiguration, logger: Logger,
         prepare: @escaping @Sendable (VigieConfiguration) throws -> Void = { _ in },
         apply: @escaping @Sendable (VigieConfiguration) -> Void) {
        self.prepare = prepare
        self.path = path
        self.running = Mutex(running)
        self.apply = apply
        self.logger = logger
    }

    var configuration: VigieConfiguration { running.withLock { $0 } }

    func reload() throws -> String {
        let next: VigieConfiguration
        do {
            next = try ConfigLoader.load(path: path)
            try prepare(next)
        } catch {
            logger.error("reload refused, running configuration kept", metadata: ["error": "\(error)"])
            throw ReloadRefused(description: "reload refused, running configuration kept: \(error)")
        }
        let previous = running.withLock { running in
            defer { running = next }
            return running
        }
        apply(next)
        var message = "configuration reloaded from \(next.sources.joined(separator: ", "))"
        if next.daemon != previous.daemon {
            message += "; [daemon] changes need a restart to take effect"
        }
        logger.info("configuration reloaded", metadata: ["files": "\(next.sources.count)"])
        return message
    }

    struct ReloadRefused: Error, CustomStringConvertible { var description: String }
}
