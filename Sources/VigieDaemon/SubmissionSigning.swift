import Logging
import VigieConfig
import VigieCore

/// Signing inside the submission milter (`[dkim.sign] in_submission = true`): the
/// same keys, choice of mail and metrics as the sign role, without a second milter
/// for Postfix to call. The keys are read after privileges are dropped, as the daemon
/// user (`vigiectl dkim keygen` writes them 0600 owned by that user; vigie.service
/// has no capability to read another user's file as root), and again at
/// `vigiectl reload`, before anything else of the new configuration is applied: a key
/// that does not load refuses the reload.
enum SubmissionSigning {
    /// The glue's signing part, or nil when this role does not sign.
    static func make(_ configuration: VigieConfiguration) throws -> MilterGlue.Signing? {
        let settings = configuration.signing
        guard settings.inSubmission else { return nil }
        guard !settings.keys.isEmpty else {
            throw StartError("[dkim.sign] in_submission = true but no [[dkim.sign.key]]: nothing to sign with (make a key with: vigiectl dkim keygen DOMAIN SELECTOR)")
        }
        let keys = try SignGlue.Keys.make(settings, loaded: settings.loadKeys())
        return MilterGlue.Signing(keys: ReloadableValue(keys), metrics: SignMetrics(), signForwarded: settings.signForwarded)
    }

    /// At `vigiectl reload`: new keys swapped in whole, or the reload refused. Turning
    /// in_submission on or off changes what the milter negotiates: that needs a restart.
    static func reload(_ signing: MilterGlue.Signing?, with next: VigieConfiguration, logger: Logger) throws {
        guard let signing else {
            if next.signing.inSubmission { logger.notice("[dkim.sign] in_submission = true takes effect at the next restart") }
            return
        }
        guard next.signing.inSubmission, !next.signing.keys.isEmpty else {
            throw StartError("[dkim.sign] in_submission was turned off or lost its keys: restart vigie to stop signing")
        }
        let made = try SignGlue.Keys.make(next.signing, loaded: next.signing.loadKeys())
        signing.keys.replace { _ in made }
    }
}
