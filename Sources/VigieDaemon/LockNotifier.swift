import Foundation
import Logging
import Synchronization
import VigieCore
import VigieReply

/// Sends one mail per lock to the admins and to the member, through sendmail(1).
///
/// Runs on its own serial queue: a lock decision never waits on a child process.
/// The notification is itself local mail from the daemon's account, which
/// vigie.toml exempts, so it cannot be stopped by the lock it reports.
public final class LockNotifier: Sendable {
    public struct Settings: Sendable {
        public var enabled: Bool
        public var admin: String
        public var notifyMember: Bool
        public var memberDomain: String?
        public var sendmail: String
        public var from: String
        /// Postfix configuration directory for sendmail (MAIL_CONFIG), nil for the default.
        public var postfixConfigDirectory: String?
        public var contact: String

        public init(enabled: Bool, admin: String, notifyMember: Bool, memberDomain: String?, sendmail: String,
                    from: String, postfixConfigDirectory: String?, contact: String) {
            self.enabled = enabled
            self.admin = admin
            self.notifyMember = notifyMember
            self.memberDomain = memberDomain
            self.sendmail = sendmail
            self.from = from
            self.postfixConfigDirectory = postfixConfigDirectory
            self.contact = contact
        }
    }

    private let current: Mutex<Settings>
    private let logger: Logger
    private let queue = DispatchQueue(label: "vigie.notifier")

    static let relayAccounts: Set<String> = [AccountNormalizer.foreignRelaySender.value, AccountNormalizer.relayedFromHost.value]

    public init(settings: Settings, logger: Logger) {
        self.current = Mutex(settings)
        self.logger = logger
    }

    public func reload(_ settings: Settings) { current.withLock { $0 = settings } }

    public func accountLocked(_ lock: AccountLock, trigger: BurstTrigger, evidence: Int) {
        let settings = current.withLock { $0 }
        guard settings.enabled else { return }
        var recipients = [settings.admin]
        // relay:foreign and relay:all are mail relayed from the host, not a member:
        // no one to tell, and no address (relay:foreign@domain would bounce).
        if settings.notifyMember, !Self.relayAccounts.contains(lock.account) {
            recipients.append(settings.memberDomain.map { "\(lock.account)@\($0)" } ?? lock.account)
        }
        let everyone = recipients
        let message = Self.compose(lock: lock, trigger: trigger, evidence: evidence, from: settings.from,
                                   to: recipients, contact: settings.contact)
        let logger = self.logger
        queue.async {
            do {
                try Self.send(message, from: settings.from, to: everyone, settings: settings)
                logger.info("lock notification sent", metadata: ["account": "\(lock.account)", "to": "\(everyone.joined(separator: ","))"])
            } catch {
                logger.error("lock notification failed", metadata: ["account": "\(lock.account)", "error": "\(error)"])
            }
        }
    }

    /// One mail to the admins (not the member: nothing is refused yet, and a thief
    /// reading the member's mail must not learn they were noticed).
    public func accountWatched(_ account: AccountName, assessment: SuspicionAssessment, watch: Int) {
        let settings = current.withLock { $0 }
        guard settings.enabled else { return }
        let message = Self.composeWatch(account: account, assessment: assessment, watch: watch, from: settings.from,
                                        to: settings.admin)
        let logger = self.logger
        queue.async {
            do {
                try Self.send(message, from: settings.from, to: [settings.admin], settings: settings)
                logger.info("watch notification sent", metadata: ["account": "\(account)", "to": "\(settings.admin)"])
            } catch {
                logger.error("watch notification failed", metadata: ["account": "\(account)", "error": "\(error)"])
            }
        }
    }

    static func composeWatch(account: AccountName, assessment: SuspicionAssessment, watch: Int, from: String,
                             to admin: String) -> String {
        let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(assessment.at.milliseconds) / 1000))
        let name = ReplyText.sanitizeValue(account.value)
        let reasons = ReplyText.sanitizeValue(assessment.reasons)
        let score = Int(assessment.score.rounded())
        return """
        From: Vigie <\(from)>
        To: \(admin)
        Subject: [vigie] Compte \(name) sous surveillance / account watched
        Auto-Submitted: auto-generated
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 8bit
        MIME-Version: 1.0

        Le compte \(name) envoie du courrier qui ne lui ressemble pas (\(when)).
        Score de suspicion : \(score) (surveillance à \(watch)) ; rien n'est encore refusé.
        Dernier message : \(reasons)
        Voir :                 vigiectl explain \(name)
        Si c'est bien le membre (nouveau bureau, nouveau téléphone) :
                               vigiectl trust \(name) RÉSEAU --reason "..."
        Sinon :                vigiectl lock \(name) --reason "..."

        ----

        Account \(name) is sending mail unlike its own (\(when)).
        Suspicion score: \(score) (watch at \(watch)); nothing is refused yet.
        Last message: \(reasons)
        See:                   vigiectl explain \(name)
        If it is the member (new office, new phone provider):
                               vigiectl trust \(name) NETWORK --reason "..."
        Otherwise:             vigiectl lock \(name) --reason "..."

        """
    }

    /// Waits until queued notifications are handed to sendmail (used at shutdown).
    public func drain() { queue.sync {} }

    static func compose(lock: AccountLock, trigger: BurstTrigger, evidence: Int, from: String, to: [String],
                        contact: String) -> String {
        let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(lock.lockedAt.milliseconds) / 1000))
        let account = ReplyText.sanitizeValue(lock.account)
        return """
        From: Vigie <\(from)>
        To: \(to.joined(separator: ", "))
        Subject: [vigie] Compte \(account) verrouillé / account locked
        Auto-Submitted: auto-generated
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 8bit
        MIME-Version: 1.0

        Le compte \(account) a été verrouillé automatiquement le \(when) :
        il envoyait du courrier comme le ferait un mot de passe volé.
        Motif : \(trigger)
        Messages acceptés pendant la rafale (conservés dans la file, non supprimés) : \(evidence)
        Le message qui a déclenché le verrou est dans la file « hold » de Postfix.

        Que faire :
          1. Changer le mot de passe du compte (et celui de toute application qui l'utilise).
          2. Voir les détails :            vigiectl show \(account)
          3. Retenir / supprimer la rafale : vigiectl hold \(account)   /   vigiectl purge \(account)
          4. Déverrouiller :               vigiectl unlock \(account) --reason "mot de passe changé"
        Contact : \(contact)

        ----

        Account \(account) was locked automatically at \(when):
        it was sending mail the way a stolen password does.
        Reason: \(trigger)
        Messages accepted during the burst (kept in the queue, nothing deleted): \(evidence)
        The message that tripped the lock is in Postfix's hold queue.

        What to do:
          1. Change the account's password (and that of any application using it).
          2. Details:                     vigiectl show \(account)
          3. Hold / delete the burst:     vigiectl hold \(account)   /   vigiectl purge \(account)
          4. Unlock:                      vigiectl unlock \(account) --reason "password changed"
        Contact: \(contact)

        """
    }

    static func send(_ message: String, from: String, to recipients: [String], settings: Settings) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: settings.sendmail)
        process.arguments = ["-i", "-f", from, "--"] + recipients
        var environment = ProcessInfo.processInfo.environment
        if let directory = settings.postfixConfigDirectory { environment["MAIL_CONFIG"] = directory }
        process.environment = environment
        let input = Pipe()
        process.standardInput = input
        try process.run()
        // A sendmail that never finishes (postdrop denied under a sandbox retries
        // forever) must not hold the notifier queue, nor the shutdown that drains it.
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(30), execute: watchdog)
        defer { watchdog.cancel() }
        // The message (a few KiB) fits in the pipe's buffer: this write cannot block.
        input.fileHandleForWriting.write(Data(message.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationReason == .exit else {
            throw NotifierFailure(description: "\(settings.sendmail) did not finish within 30 s and was stopped")
        }
        guard process.terminationStatus == 0 else {
            throw NotifierFailure(description: "\(settings.sendmail) exited with status \(process.terminationStatus)")
        }
    }

    struct NotifierFailure: Error, CustomStringConvertible { var description: String }
}
