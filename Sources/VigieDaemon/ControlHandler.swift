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
            switch request.command {
            case .status:
                return ControlResponse(status: status())
            case .reload:
                // A refused file is the admin's error to read, not an internal one.
                do { return ControlResponse(message: try reload()) } catch { return .failure("\(error)") }
            case .list:
                return ControlResponse(locks: policy.activeLocks(), topSenders: policy.topSenders(limit: request.top ?? 10))
            case .show:
                let account = try known(request.account)
                return ControlResponse(report: try policy.report(account: account))
            case .lock:
                let account = try known(request.account)
                let reason = try reason(request)
                guard let lock = try policy.lock(account: account, actor: actor, reason: reason) else {
                    return .failure("\(account) is already locked")
                }
                metrics.locksByAdmin.increment()
                return ControlResponse(lock: lock, message: "\(account) locked")
            case .unlock:
                let account = try known(request.account)
                let reason = try reason(request)
                guard policy.lock(of: account) != nil else { return .failure("\(account) is not locked") }
                let ended = try policy.unlock(account: account, actor: actor, reason: reason)
                metrics.unlocks.increment()
                return ControlResponse(lock: ended, message: "\(account) unlocked")
            case .reset:
                let account = try known(request.account)
                try policy.reset(account: account, actor: actor, reason: request.reason ?? "reset by \(actor)")
                return ControlResponse(message: "counters of \(account) cleared")
            case .explain:
                let account = try known(request.account)
                let report = try policy.report(account: account)
                guard let detection = report.detection else { return .failure("detection is off ([detection] enabled = false)") }
                return ControlResponse(explanations: policy.explain(account: account), detection: detection)
            case .trust:
                let account = try known(request.account)
                let reason = try reason(request)
                guard let text = request.network, let network = NetworkPrefix(networkText: text) else {
                    return .failure("expected a network such as 198.51.100.0/24, 2001:db8:1::/48 or one address, got '\(request.network ?? "")'")
                }
                guard policy.settings.detection.enabled else { return .failure("detection is off ([detection] enabled = false)") }
                try policy.trust(account: account, network: network, actor: actor, reason: reason)
                return ControlResponse(message: "\(network) is now a known network of \(account)")
            case .recordQueueAction:
                let account = try known(request.account)
                guard let action = request.queueAction, [.hold, .release, .purge].contains(action) else {
                    return .failure("queue action must be hold, release or purge")
                }
                let ids = (request.queueIDs ?? []).joined(separator: " ")
                try policy.recordQueueAction(account: account, action: action, actor: actor,
                                             reason: request.reason ?? "queue ids: \(ids)")
                return ControlResponse(message: "recorded")
            }
        } catch let refusal as Refusal {
            return .failure(refusal.message)
        } catch {
            metrics.internalError(stage: "control")
            return .failure("\(error)")
        }
    }

    private struct Refusal: Error { var message: String }

    private func known(_ raw: String?) throws -> AccountName {
        guard let raw, let account = normalizer().account(forLogin: raw) else {
            throw Refusal(message: "an account name is required")
        }
        guard policy.knows(account: account) || UnixUser.lookup(name: account.value) != nil else {
            throw Refusal(message: "unknown account '\(account)': Vigie has no record of it and there is no such Unix user")
        }
        return account
    }

    private func reason(_ request: ControlRequest) throws -> String {
        guard let reason = request.reason?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty else {
            throw Refusal(message: "a reason is required (--reason \"...\"): it goes in the audit trail")
        }
        return String(reason.prefix(500))
    }
}
