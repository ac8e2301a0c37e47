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
public enum SignDaemon {
    public static func run(configuration: VigieConfiguration, configPath: String, logger: Logger) throws {
        let daemon = configuration.daemon
        let settings = configuration.signing
        guard !settings.inSubmission else {
            throw StartError("[dkim.sign] in_submission = true: the submission role signs; a sign role would sign every message twice")
        }
        guard !settings.keys.isEmpty else {
            throw StartError("[dkim.sign] has no [[dkim.sign.key]]: the sign role has nothing to sign with (make a key with: vigiectl dkim keygen DOMAIN SELECTOR)")
        }
        let metrics = SignMetrics()
        let keys = ReloadableValue(try makeKeys(settings, loaded: settings.loadKeys()))
        let glue = SignGlue(keys: keys, settings: glueSettings(configuration), logger: logger, metrics: metrics)

        let socket = settings.socket.libmilterSpec
        let server = try MilterServer(configuration: SignGlue.milterConfiguration(socket: socket)) { glue.makeSession() }
        try Daemon.prepareSocketDirectory(socket: settings.socket, daemon: daemon)
        try server.open()
        if case .unix(let path) = settings.socket {
            try Privileges.shareSocket(path: path, owner: daemon.user, group: daemon.socketGroup)
        }
        var metricsServer: MetricsServer?
        if let host = settings.metricsHost, let port = settings.metricsPort {
            metricsServer = try MetricsServer(host: host, port: port, logger: logger) { metrics.exposition() }
        }
        try Privileges.drop(to: daemon.user)
        metricsServer?.start()
        KeyReloadSignal.start(logger: logger) {
            // The whole configuration, so that what reloads is what --check-config checks.
            let next = try ConfigLoader.load(path: configPath)
            guard !next.signing.keys.isEmpty else { throw StartError("[dkim.sign] lost all its keys; keeping the running ones") }
            let made = try makeKeys(next.signing, loaded: next.signing.loadKeys())
            keys.replace { _ in made }
            return made.table.entries.map { "\($0.key.selector)._domainkey.\($0.key.domain)" }
        }
        logger.info("started", metadata: [
            "version": "\(VigieVersion.current)", "role": "sign", "socket": "\(socket)",
            "keys": "\(settings.keys.map { "\($0.algorithm):\($0.selector)._domainkey.\($0.domain)" }.joined(separator: ","))",
            "canonicalization": "\(settings.headerCanonicalization)/\(settings.bodyCanonicalization)",
            "libmilter": "\(MilterServer.libraryVersion)",
        ])
        try server.run()
        logger.info("stopped", metadata: ["role": "sign"])
    }

    static func makeKeys(_ settings: SigningSettings, loaded: [(key: SigningSettings.Key, privateKey: PrivateKey)]) throws -> SignGlue.Keys {
        var options = DKIMSigner.Options()
        options.headerCanonicalization = settings.headerCanonicalization == "simple" ? .simple : .relaxed
        options.bodyCanonicalization = settings.bodyCanonicalization == "simple" ? .simple : .relaxed
        if let headers = settings.headers { options.signedHeaders = headers }
        if let oversign = settings.oversign { options.oversignedHeaders = oversign }
        let entries = try loaded.map { key, privateKey in
            DKIMSigningKeyTable.Entry(key: try DKIMSigningKey(domain: key.domain, selector: key.selector, key: privateKey),
                                      fromDomains: key.fromDomains)
        }
        // libopendkim is handed these keys already decoded from now on (CDKIMKeyCache);
        // a message still signing with a key of the last table decodes it itself.
        if !DKIMSigningKeyCache.register(entries.map(\.key)) {
            throw StartError("[[dkim.sign.key]]: \(entries.count) keys, over the \(DKIMSigningKeyCache.capacity) the sign role holds")
        }
        return SignGlue.Keys(signer: try DKIMSigner(options: options), table: DKIMSigningKeyTable(entries))
    }

    static func glueSettings(_ configuration: VigieConfiguration) -> SignGlue.Settings {
        SignGlue.Settings(localDaemonName: configuration.identity.localDaemonName,
                          relayDaemonName: configuration.identity.relayDaemonName,
                          signForwarded: configuration.signing.signForwarded)
    }
}

/// SIGUSR1 → reload the signing keys. `Launcher.prepareProcess` blocks SIGUSR1 in
/// every thread (as libmilter's signals are), so one thread takes it with
/// sigwait: no handler runs at an arbitrary point, and in the other roles a stray
/// SIGUSR1 stays pending instead of killing the daemon.
enum KeyReloadSignal {
    static func start(logger: Logger, reload: @escaping @Sendable () throws -> [String]) {
        let thread = Thread {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGUSR1)
            while true {
                var signal: Int32 = 0
                guard sigwait(&set, &signal) == 0 else { continue }
                do {
                    let keys = try reload()
                    logger.notice("sign: keys reloaded", metadata: ["keys": "\(keys.joined(separator: ","))"])
                } catch {
                    logger.error("sign: reload refused, the running keys stay: \(error)")
                }
            }
        }
        thread.name = "vigie-sign-reload"
        thread.start()
    }
}
