import Foundation
import Logging
import MilterTransport
import Synchronization
import VigieConfig
import VigieControl
import VigieCore
import VigieStore
#if canImport(Glibc)
import Glibc
#endif

/// Starts Vigie from a loaded configuration: opens what needs root, drops
/// privileges, restores state, and serves Postfix until SIGTERM.
///
/// Order matters: signals are blocked before any thread exists (libmilter's own
/// signal thread must be the one to receive SIGTERM), sockets are opened as root,
/// the state file is opened after dropping root so it belongs to the daemon user.
public enum Daemon {
    public static func run(configuration: VigieConfiguration, configPath: String, logger: Logger) throws {
        let clock = SystemTimeSource()
        let daemon = configuration.daemon

        let milterConfiguration = MilterGlue.milterConfiguration(socket: daemon.socket.libmilterSpec,
                                                                 signs: configuration.signing.inSubmission)
        let glueBox = LateBox<MilterGlue>()
        let server = try MilterServer(configuration: milterConfiguration) { glueBox.value!.makeSession() }
        try prepareSocketDirectory(socket: daemon.socket, daemon: daemon)
        try server.open()
        if case .unix(let path) = daemon.socket {
            try Privileges.shareSocket(path: path, owner: daemon.user, group: daemon.socketGroup)
        }

        let startedAt = clock.now()
        let policyBox = LateBox<ControlHandler>()
        let control = try ControlServer(path: daemon.controlSocket, adminGroup: daemon.adminGroup, owner: daemon.user,
                                        logger: logger) { request, actor in
            policyBox.value?.handle(request, actor: actor) ?? .failure("vigie is starting, try again in a moment")
        }

        let srs = try SRSServices.open(settings: configuration.srs, logger: logger)  // sockets and secrets need root

        let metricsBox = LateBox<VigieMetrics>()
        let signingMetrics = LateBox<SignMetrics>()
        let policyForMetrics = LateBox<SendPolicy>()
        var metricsServer: MetricsServer?
        if let host = configuration.metrics.listenHost, let port = configuration.metrics.listenPort {
            metricsServer = try MetricsServer(host: host, port: port, logger: logger) {
                guard let metrics = metricsBox.value, let policy = policyForMetrics.value else { return [] }
                return metrics.exposition(policy: policy, srs: srs?.table.statistics) + (signingMetrics.value?.exposition() ?? [])
            }
        }
        try Privileges.drop(to: daemon.user)

        let stores = try StoreComposition.open(configuration: configuration)
        let notifier = LockNotifier(settings: notifierSettings(configuration), logger: logger)
        let metrics = VigieMetrics()
        let policy = SendPolicy(settings: configuration.policy,
                                groups: BoundedGroupDirectory(NSSGroupDirectory(), timeout: daemon.decisionTimeout), store: stores.store, clock: clock,
                                events: PolicyEventLog(logger: logger, notifier: notifier, metrics: metrics),
                                sharedCounting: stores.sharedCounting)
        try policy.restore()
        stores.start(policy: policy, metrics: metrics, logger: logger)
        metricsBox.value = metrics
        policyForMetrics.value = policy

        let signing = try SubmissionSigning.make(configuration)  // keys read as the daemon user
        signingMetrics.value = signing?.metrics
        let glue = MilterGlue(policy: policy, settings: glueSettings(configuration), logger: logger, clock: clock,
                              metrics: metrics, signing: signing)
        glueBox.value = glue
        let reloader = ConfigReloader(path: configPath, running: configuration, logger: logger,
                                      prepare: { next in try SubmissionSigning.reload(signing, with: next, logger: logger) }) { next in
            policy.reload(settings: next.policy)
            glue.reload(glueSettings(next))
            notifier.reload(notifierSettings(next))
        }
        policyBox.value = ControlHandler(
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
        control.start()
        srs?.start(logger: logger)
        metricsServer?.start()
        logger.info("started", metadata: [
            "version": "\(VigieVersion.current)", "socket": "\(daemon.socket.libmilterSpec)",
            "state": "\(stores.location)", "locks": "\(policy.activeLocks().count)",
            "accounts": "\(policy.trackedAccounts)", "libmilter": "\(MilterServer.libraryVersion)",
        ])
        try server.run()
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

    /// The unix socket's directory (e.g. /var/spool/postfix/vigie) must exist and
    /// belong to the daemon user so it can be recreated on restart. A directory that
    /// already exists is left as its admin set it: it may be shared.
    static func prepareSocketDirectory(socket: MilterSocketAddress, daemon: DaemonSettings) throws {
        guard case .unix(let path) = socket else { return }
        let directory = (path as NSString).deletingLastPathComponent
        guard !FileManager.default.fileExists(atPath: directory) else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if geteuid() == 0, let user = UnixUser.lookup(name: daemon.user) {
            chown(directory, user.uid, UnixUser.groupID(named: daemon.socketGroup) ?? user.gid)
            chmod(directory, 0o750)
        }
    }
}

/// Holds a value set once after start-up, read from other threads.
private final class LateBox<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)
    var value: Value? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
