import Foundation
import Logging
import MilterTransport
import VigieAuth
import VigieConfig
import VigieControl
import VigieDKIM
import VigieDMARC
import VigieDNS
import VigieSPF
#if canImport(Glibc)
import Glibc
#endif

/// Starts the `inbound` role (`vigie --role inbound`): SPF, DKIM and DMARC checks for the
/// port-25 smtpd, on the `[inbound] socket`. A process of its own because
/// libmilter allows one registration per process and the submission role must
/// not negotiate the inbound stages. It keeps no state file and has no control
/// socket; `[daemon] user` and `socket_group` apply as for the submission role.
///
/// Diagnostics: one "inbound: checked" line per message with its queue id.
/// Metrics on `[inbound] metrics_listen`: SPF/DKIM/DMARC results, DMARC actions,
/// DNS queries and failures. The role does not reload: a new Public Suffix List
/// (Debian's publicsuffix package updated) is taken at the next start.
/// DNS latency is `vigie_dns_seconds` (network lookups only).
public enum InboundRole {
    /// - Parameter publicSuffixList: loaded by the launcher before logging starts
    ///   (so a missing list is a configuration error), nil when DMARC is off.
    public static func run(configuration: VigieConfiguration, publicSuffixList: PublicSuffixList?, logger: Logger) throws {
        let daemon = configuration.daemon
        let inbound = configuration.inbound
        let authservID = inbound.authservID ?? ProcessInfo.processInfo.hostName
        let nameservers = inbound.nameservers  // parsed and checked by the configuration

        // 1. As root: the sockets.
        let milter = try StartupKit.listenForPostfix(InboundGlue.milterConfiguration(socket: inbound.socket.libmilterSpec),
                                                     on: inbound.socket, daemon: daemon)
        let metricsServer = try StartupKit.listenForMetrics(host: inbound.metricsHost, port: inbound.metricsPort,
                                                            logger: logger)
        // 2.
        try Privileges.drop(to: daemon.user)

        // 3. The resolver and the checks on it (libspf2, libopendkim), as the daemon user.
        let metrics = InboundMetrics()
        var resolverConfiguration = DNSResolver.Configuration(
            nameservers: nameservers, attemptTimeout: min(inbound.dnsTimeout, .seconds(3)), lookupTimeout: inbound.dnsTimeout)
        resolverConfiguration.observeLookup = { duration, _ in metrics.dnsSeconds.record(duration) }
        let resolver = DNSResolver(configuration: resolverConfiguration)
        let spf = try SPFVerifier(resolver: resolver, receiver: authservID, checkTimeout: inbound.dnsTimeout)
        let dkim = try DKIMVerifier(resolver: resolver, limits: .init(maximumSignatures: inbound.maximumSignatures,
                                                                      timeout: inbound.dnsTimeout))
        var settings = InboundGlue.Settings(authservID: authservID, policy: InboundPolicy(spf: inbound.spfActions),
                                            receivedSPF: inbound.receivedSPF)
        if inbound.dmarc {
            guard let publicSuffixList else { throw StartError("DMARC is on but no Public Suffix List was loaded") }
            settings.dmarc = DMARCEvaluator(publicSuffixList: publicSuffixList)
            settings.dmarcActions = inbound.dmarcActions
            settings.dnsTimeout = inbound.dnsTimeout
        }

        // 4. The glue, then the servers.
        let glue = InboundGlue(settings: settings, spf: spf, dkim: dkim, dmarcRecords: ResolverDMARCRecords(resolver: resolver),
                               logger: logger, metrics: metrics)
        metricsServer?.start { metrics.exposition(resolver: resolver) }
        logger.info("started", metadata: [
            "version": "\(VigieVersion.current)", "role": "inbound", "socket": "\(inbound.socket.libmilterSpec)",
            "authserv_id": "\(authservID)",
            "nameservers": "\(nameservers.isEmpty ? "/etc/resolv.conf" : nameservers.map(\.description).joined(separator: ","))",
            "libmilter": "\(MilterServer.libraryVersion)",
            // Off only if the executable was linked so that libopendkim binds OpenSSL's
            // decoder directly: everything still verifies, each key decoded again.
            "dkim_key_cache": "\(DKIMKeyCache.isActive ? "on" : "off")",
            "dmarc": "\(publicSuffixList.map { "on (\(inbound.publicSuffixListPath): \($0.icannRules) ICANN and \($0.privateRules) private rules; quarantine \(inbound.dmarcActions.quarantine.rawValue), reject \(inbound.dmarcActions.reject.rawValue))" } ?? "off")",
        ])
        try milter.run { glue.makeSession() }
        logger.info("stopped", metadata: ["role": "inbound"])
    }
}
