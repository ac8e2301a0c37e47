import Foundation
import VigieControl
import VigieCore

/// Answers `vigiectl` requests from the policy's state. Every change is written to
/// the store before the answer, and takes effect for every live session at once
/// (the policy is shared in memory).
struct ControlHandler: Sendable {
    let policy: SendPolicy
    let metrics: VigieMetrics
    /// The account normaliser in force (it follows reloads).
    let normalizer: @Sendable () -> AccountNormalizer
    /// Re-reads the configuration files; returns what was done, or throws the
    /// configuration error (the running configuration then stays in force).
    let reload: @Sendable () throws -> String
    let status: @Sendable () -> DaemonStatus

    func handle(_ request: ControlRequest, actor: String) -> ControlResponse {
        do {
            switch request {
            case .status:
                return .status(status())
            case .reload:
                // A refused file is the admin's error to read, not an internal one.
                do { return .done(try reload()) } catch { return .failure("\(error)") }
            case .list(let top):
                return .list(locks: policy.activeLocks(), topSenders: policy.topSenders(limit: max(0, top)))
            case .show(let name):
                return .report(try policy.report(account: try known(name)))
            case .lock(let name, let reason):
                let account = try known(name)
                guard let lock = try policy.lock(account: account, actor: actor, reason: try checked(reason)) else {
                    return .failure("\(account) is already locked")
                }
                metrics.locksByAdmin.increment()
                return .lockChanged(lock, message: "\(account) locked")
            case .unlock(let name, let reason):
                let account = try known(name)
                let reason = try checked(reason)
                guard policy.lock(of: account) != nil else { return .failure("\(account) is not locked") }
                let ended = try policy.unlock(account: account, actor: actor, reason: reason)
                metrics.unlocks.increment()
                return ended.map { .lockChanged($0, message: "\(account) unlocked") } ?? .done("\(account) unlocked")
            case .reset(let name, let reason):
                let account = try known(name)
                try policy.reset(account: account, actor: actor, reason: reason ?? "reset by \(actor)")
                return .done("counters of \(account) cleared")
            case .explain(let name):
                let account = try known(name)
                let report = try policy.report(account: account)
                guard let detection = report.detection else { return .failure("detection is off ([detection] enabled = false)") }
                return .explanation(moves: policy.explain(account: account), detection: detection)
            case .trust(let name, let text, let reason):
                let account = try known(name)
                let reason = try checked(reason)
                guard let network = NetworkPrefix(networkText: text) else {
                    return .failure("expected a network such as 198.51.100.0/24, 2001:db8:1::/48 or one address, got '\(text)'")
                }
                guard policy.settings.detection.enabled else { return .failure("detection is off ([detection] enabled = false)") }
                try policy.trust(account: account, network: network, actor: actor, reason: reason)
                return .done("\(network) is now a known network of \(account)")
            case .recordQueueAction(let name, let action, let queueIDs, let reason):
                let account = try known(name)
                try policy.recordQueueAction(account: account, action: action.auditAction, actor: actor,
                                             reason: reason ?? "queue ids: \(queueIDs.joined(separator: " "))")
                return .done("recorded")
            }
        } catch let refusal as Refusal {
            return .failure(refusal.message)
        } catch {
            metrics.internalError(stage: "control")
            return .failure("\(error)")
        }
    }

    private struct Refusal: Error { var message: String }

    private func known(_ raw: String) throws -> AccountName {
        guard let account = normalizer().account(forLogin: raw) else {
            throw Refusal(message: "an account name is required")
        }
        guard policy.knows(account: account) || UnixUser.lookup(name: account.value) != nil else {
            throw Refusal(message: "unknown account '\(account)': Vigie has no record of it and there is no such Unix user")
        }
        return account
    }

    private func checked(_ reason: String) throws -> String {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else {
            throw Refusal(message: "a reason is required (--reason \"...\"): it goes in the audit trail")
        }
        return String(reason.prefix(500))
    }
}
