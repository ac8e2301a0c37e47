import Foundation
import Logging
import MilterTransport
import VigieConfig
import VigieControl
import VigieCore
import VigieStore
#if canImport(Glibc)
import Glibc
#endif

/// The submission role (`vigie`, `vigie --role submission`): send limits for
/// members' mail on `[daemon] socket`, the control socket `vigiectl` talks to, the
/// SRS lookup services, the state store. Serves Postfix until SIGTERM.
///
/// Order matters (`StartupKit`): signals were blocked before any thread existed
/// (`Launcher.prepareProcess`: libmilter's signal thread must be the one to receive
/// SIGTERM), every socket and the SRS secrets are opened as root, the state file
/// after dropping root so it belongs to the daemon user.
public enum SubmissionRole {
    public static func run(configuration: VigieConfiguration, configPath: String, logger: Logger) throws {
        let clock = SystemTimeSource()
        let daemon = configuration.daemon
        let startedAt = clock.now()

        // 1. As root: the sockets, and the SRS secrets (mode 0600, root's).
        let milter = try StartupKit.listenForPostfix(
            MilterGlue.milterConfiguration(socket: daemon.socket.libmilterSpec, signs: configuration.signing.inSubmission),
            on: daemon.socket, daemon: daemon)
        let control = try ControlServer(path: daemon.controlSocket, adminGroup: daemon.adminGroup, owner: daemon.user,
                                        logger: logger)
        let srs = try SRSServices.open(settings: configuration.srs, logger: logger)
        let metricsServer = try StartupKit.listenForMetrics(host: configuration.metrics.listenHost,
                                                            port: configuration.metrics.listenPort, logger: logger)

        // 2.
        try Privileges.drop(to: daemon.user)

        // 3. As the daemon user: the store (its files are the user's), the policy with
        // the state restored, the signing keys of in_submission (0600, the user's).
        let stores = try StoreComposition.open(configuration: configuration)
        let notifier = LockNotifier(settings: notifierSettings(configuration), logger: logger)
        let metrics = VigieMetrics()
        let policy = SendPolicy(settings: configuration.policy,
                                groups: BoundedGroupDirectory(NSSGroupDirectory(), timeout: daemon.decisionTimeout), store: stores.store, clock: clock,
                                events: PolicyEventLog(logger: logger, notifier: notifier, metrics: metrics),
                                sharedCounting: stores.sharedCounting, residentAccounts: daemon.residentAccounts)
        try policy.restore()
        stores.start(policy: policy, metrics: metrics, logger: logger)
        let signing = try SubmissionSigning.make(configuration)

        // 4. The glue, what reloads it and what answers vigiectl; then every server.
        let glue = MilterGlue(policy: policy, settings: glueSettings(configuration), logger: logger, clock: clock,
                              metrics: metrics, signing: signing)
        let reloader = ConfigReloader(path: configPath, running: configuration, logger: logger,
                                      prepare: { next in try SubmissionSigning.reload(signing, with: next, logger: logger) }) { next in
            policy.reload(settings: next.policy)
            glue.reload(glueSettings(next))
            notifier.reload(notifierSettings(next))
        }
        let controlHandler = ControlHandler(
            policy: policy, metrics: metrics, normalizer: { glue.settings.normalizer }, reload: { try reloader.reload() }
        ) {
            DaemonStatus(version: VigieVersion.current, pid: getpid(), startedAt: startedAt,
                         configFiles: reloader.configuration.sources, milterSocket: daemon.socket.libmilterSpec,
                         statePath: stores.location, trackedAccounts: policy.trackedAccounts,
                         lockedAccounts: policy.activeLocks().count,
                         messagesDecided: glue.statistics.decided.load(ordering: .relaxed),
                         internalErrors: glue.statistics.internalErrors.load(ordering: .relaxed),
                         storeError: policy.storeHealth.lastError, unstoredLocks: policy.unstoredLockCount)
        }

        let flusher = CounterFlusher(policy: policy, interval: daemon.flushInterval)
        flusher.start()
        control.start { request, actor in controlHandler.handle(request, actor: actor) }
        srs?.start(logger: logger)
        metricsServer?.start {
            metrics.exposition(policy: policy, srs: srs?.table.statistics) + (signing?.metrics.exposition() ?? [])
        }
        logger.info("started", metadata: [
            "version": "\(VigieVersion.current)", "socket": "\(daemon.socket.libmilterSpec)",
            "state": "\(stores.location)", "locks": "\(policy.activeLocks().count)",
            "accounts": "\(policy.trackedAccounts)", "libmilter": "\(MilterServer.libraryVersion)",
        ])
        try milter.run { glue.makeSession() }

        // Stopped (SIGTERM): what is in memory goes to the store, then the store closes.
        for lock in flusher.stopAndFlush() {
            // Loud: this lock is in no file, and the next start will not enforce it.
            logger.critical("lock not stored: lost at this stop; lock the account again once the state store works", metadata: [
                "account": "\(lock.account)", "by": "\(lock.actor)", "reason": "\(lock.reason)",
                "store": "\(policy.storeHealth.lastError ?? "unknown error")",
            ])
        }
        stores.stop()
        // Everything into state.sqlite itself, so a copy of that file alone is whole.
        do {
            try stores.checkpoint()
        } catch {
            logger.warning("state not checkpointed at stop", metadata: ["error": "\(error)"])
        }
        notifier.drain()
        unlink(daemon.controlSocket)
        logger.info("stopped")
    }

    static func glueSettings(_ configuration: VigieConfiguration) -> MilterGlue.Settings {
        let timeZone = configuration.notices.timeZone.flatMap(TimeZone.init(identifier:)) ?? .current
        return MilterGlue.Settings(
            renderer: NoticeRenderer(languages: configuration.notices.languages, contact: configuration.notices.contact,
                                     timeZone: timeZone),
            normalizer: configuration.identity.normalizer,
            localDaemonName: configuration.identity.localDaemonName,
            relayDaemonName: configuration.identity.relayDaemonName)
    }

    static func notifierSettings(_ configuration: VigieConfiguration) -> LockNotifier.Settings {
        LockNotifier.Settings(
            enabled: configuration.notify.enabled, admin: configuration.notify.admin,
            notifyMember: configuration.notify.member, memberDomain: configuration.notify.memberDomain,
            sendmail: configuration.notify.sendmail, from: configuration.notify.from,
            postfixConfigDirectory: configuration.postfix.configDirectory, contact: configuration.notices.contact)
    }
}
