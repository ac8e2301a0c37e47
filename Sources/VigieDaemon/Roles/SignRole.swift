import Foundation
import Logging
import MilterTransport
import VigieConfig
import VigieControl
import VigieCore
import VigieCrypto
import VigieDKIM
#if canImport(Glibc)
import Glibc
#endif

/// Starts the `sign` role (`vigie --role sign`): DKIM signatures on members' mail,
/// on `[dkim.sign] socket`. A process of its own, like the inbound role: libmilter
/// allows one registration per process, and the submission role must keep asking
/// Postfix for RCPT and end of message only (its speed; headers and body cost a
/// round trip per message and the body's bytes on the socket).
///
/// Keys: read and checked by the configuration (as root, before privileges are
/// dropped); SIGUSR1 reads the configuration and the keys again, as the daemon
/// user, and swaps them in whole (a bad file keeps the running keys, logged), as
/// opendkim does on SIGUSR1. No state file, no control socket.
///
/// Diagnostics: one "sign: signed" line per signed message with its queue id and
/// the keys used; metrics on `[dkim.sign] metrics_listen`.
public enum SignRole {
    public static func run(configuration: VigieConfiguration, configPath: String, logger: Logger) throws {
        let daemon = configuration.daemon
        let settings = configuration.signing
        guard !settings.inSubmission else {
            throw StartError("[dkim.sign] in_submission = true: the submission role signs; a sign role would sign every message twice")
        }
        guard !settings.keys.isEmpty else {
            throw StartError("[dkim.sign] has no [[dkim.sign.key]]: the sign role has nothing to sign with (make a key with: vigiectl dkim keygen DOMAIN SELECTOR)")
        }

        // 1. As root: the keys (vigie-sign.service may read them whoever owns them),
        // then the sockets.
        let keys = ReloadableValue(try SignGlue.Keys.make(settings, loaded: settings.loadKeys()))
        let milter = try StartupKit.listenForPostfix(SignGlue.milterConfiguration(socket: settings.socket.libmilterSpec),
                                                     on: settings.socket, daemon: daemon)
        let metricsServer = try StartupKit.listenForMetrics(host: settings.metricsHost, port: settings.metricsPort,
                                                            logger: logger)
        // 2.
        try Privileges.drop(to: daemon.user)

        // 3. Nothing else to build: the sessions use the keys alone. SIGUSR1 reads the
        // configuration and the keys again, as the daemon user.
        KeyReloadSignal.start(logger: logger) {
            // The whole configuration, so that what reloads is what --check-config checks.
            let next = try ConfigLoader.load(path: configPath)
            guard !next.signing.keys.isEmpty else { throw StartError("[dkim.sign] lost all its keys; keeping the running ones") }
            let made = try SignGlue.Keys.make(next.signing, loaded: next.signing.loadKeys())
            keys.replace { _ in made }
            return made.table.entries.map { "\($0.key.selector)._domainkey.\($0.key.domain)" }
        }

        // 4. The glue, then the servers.
        let metrics = SignMetrics()
        let glue = SignGlue(keys: keys, settings: glueSettings(configuration), logger: logger, metrics: metrics)
        metricsServer?.start { metrics.exposition() }
        logger.info("started", metadata: [
            "version": "\(VigieVersion.current)", "role": "sign", "socket": "\(settings.socket.libmilterSpec)",
            "keys": "\(settings.keys.map { "\($0.algorithm):\($0.selector)._domainkey.\($0.domain)" }.joined(separator: ","))",
            "canonicalization": "\(settings.headerCanonicalization)/\(settings.bodyCanonicalization)",
            "libmilter": "\(MilterServer.libraryVersion)",
        ])
        try milter.run { glue.makeSession() }
        logger.info("stopped", metadata: ["role": "sign"])
    }

    static func glueSettings(_ configuration: VigieConfiguration) -> SignGlue.Settings {
        SignGlue.Settings(localDaemonName: configuration.identity.localDaemonName,
                          relayDaemonName: configuration.identity.relayDaemonName,
                          signForwarded: configuration.signing.signForwarded)
    }
}
