import Prometheus
import Synchronization
import VigieDKIM

/// The sign role's Prometheus metrics. Labels are bounded (algorithm, reason):
/// never a domain, a selector or an address.
final class SignMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let signatures: [DKIMSigningKey.Algorithm: Counter]
    private let failures: [DKIMSigningKey.Algorithm: Counter]
    private let unsigned: [SignSkip: Counter]
    let signedMessages: Counter
    private let keysServed: Counter
    private let keysDecoded: Counter
    private let exported = Mutex<(served: UInt64, bypassed: UInt64)>((0, 0))

    init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        var signatures: [DKIMSigningKey.Algorithm: Counter] = [:]
        var failures: [DKIMSigningKey.Algorithm: Counter] = [:]
        for algorithm in DKIMSigningKey.Algorithm.allCases {
            signatures[algorithm] = registry.counter(name: "vigie_dkim_signatures_total", labels: [("algorithm", algorithm.rawValue)],
                                                         help: "DKIM signatures added to members' mail")
            failures[algorithm] = registry.counter(name: "vigie_dkim_sign_failures_total", labels: [("algorithm", algorithm.rawValue)],
                                                       help: "DKIM signatures that could not be made (the message left unsigned by that key)")
        }
        var unsigned: [SignSkip: Counter] = [:]
        for reason in SignSkip.allCases {
            unsigned[reason] = registry.counter(name: "vigie_dkim_unsigned_total", labels: [("reason", reason.rawValue)],
                                                    help: "Messages the sign role let through unsigned, by reason")
        }
        self.signatures = signatures
        self.failures = failures
        self.unsigned = unsigned
        signedMessages = registry.counter(name: "vigie_dkim_signed_messages_total", help: "Messages that left with at least one DKIM signature")
        keysServed = registry.counter(name: "vigie_dkim_signing_key_cache_total", labels: [("outcome", "hit")],
                                          help: "Private keys libopendkim was handed already decoded (hit) or decoded itself (miss)")
        keysDecoded = registry.counter(name: "vigie_dkim_signing_key_cache_total", labels: [("outcome", "miss")],
                                           help: "Private keys libopendkim was handed already decoded (hit) or decoded itself (miss)")
    }

    func signed(_ algorithm: DKIMSigningKey.Algorithm) { signatures[algorithm]?.increment() }
    func failed(_ algorithm: DKIMSigningKey.Algorithm) { failures[algorithm]?.increment() }
    func unsigned(_ reason: SignSkip) { unsigned[reason]?.increment() }

    func exposition() -> [UInt8] {
        let now = DKIMSigningKeyCache.statistics
        let before = exported.withLock { exported in
            defer { exported = (now.served, now.bypassed) }
            return exported
        }
        keysServed.increment(by: Int64(now.served &- min(now.served, before.served)))
        keysDecoded.increment(by: Int64(now.bypassed &- min(now.bypassed, before.bypassed)))
        return registry.emitToBuffer()
    }
}

/// Why a message went through the sign role unsigned.
enum SignSkip: String, CaseIterable, Sendable {
    /// From the internet (no login, not the local or relay path): never ours to sign.
    case notMember = "not_member"
    /// An SRS envelope sender (a forwarded copy) and `sign_forwarded` is off.
    case forwarded
    /// No From field, several, or one naming no single domain.
    case unusableFrom = "unusable_from"
    /// No key signs the From domain.
    case noKey = "no_key"
}
