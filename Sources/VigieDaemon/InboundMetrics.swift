import Prometheus
import Synchronization
import VigieAuth
import VigieDKIM
import VigieDMARC
import VigieDNS

/// The inbound role's Prometheus metrics: SPF, DKIM and DMARC results, DMARC
/// actions, and DNS health.
/// Labels are bounded (check, result): never a domain or an address.
final class InboundMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let spf: [SPFResult: Counter]
    private let dkim: [DKIMResult: Counter]
    private let dmarc: [DMARCResult: Counter]
    private let dmarcActions: [DMARCAction: Counter]
    let refusedAtMail: Counter
    let checked: Counter
    let dnsSeconds: DurationHistogram
    private let dnsQueries: Counter
    private let dnsFailures: Counter
    private let keyCacheHits: Counter
    private let keyCacheMisses: Counter
    private let keyCacheEntries: Gauge
    /// The resolver's and the key cache's totals at the last scrape, carried over to
    /// Prometheus counters as increments.
    private let exported = Mutex<(queries: Int, failures: Int, keyHits: UInt64, keyMisses: UInt64)>((0, 0, 0, 0))

    init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        var spf: [SPFResult: Counter] = [:]
        for result in SPFResult.allCases {
            spf[result] = registry.counter(name: "vigie_auth_results_total", labels: [("check", "spf"), ("result", result.rawValue)],
                                               help: "SPF, DKIM and DMARC results of inbound mail")
        }
        var dkim: [DKIMResult: Counter] = [:]
        for result in DKIMResult.allCases {
            dkim[result] = registry.counter(name: "vigie_auth_results_total", labels: [("check", "dkim"), ("result", result.rawValue)],
                                                help: "SPF, DKIM and DMARC results of inbound mail")
        }
        var dmarc: [DMARCResult: Counter] = [:]
        for result in DMARCResult.allCases {
            dmarc[result] = registry.counter(name: "vigie_auth_results_total", labels: [("check", "dmarc"), ("result", result.rawValue)],
                                                 help: "SPF, DKIM and DMARC results of inbound mail")
        }
        var dmarcActions: [DMARCAction: Counter] = [:]
        for action in DMARCAction.allCases {
            dmarcActions[action] = registry.counter(
                name: "vigie_inbound_dmarc_actions_total", labels: [("action", action.rawValue)],
                help: "Inbound messages failing DMARC under p=quarantine or p=reject, by what was done (tag, hold, reject)")
        }
        self.spf = spf
        self.dkim = dkim
        self.dmarc = dmarc
        self.dmarcActions = dmarcActions
        refusedAtMail = registry.counter(name: "vigie_inbound_refused_total", help: "Inbound messages refused at MAIL by the SPF policy")
        checked = registry.counter(name: "vigie_inbound_checked_total", help: "Inbound messages checked and reported")
        dnsQueries = registry.counter(name: "vigie_dns_queries_total", help: "DNS queries sent")
        dnsSeconds = registry.durationHistogram(
            name: "vigie_dns_seconds",
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(20), .milliseconds(100), .milliseconds(500),
                      .seconds(2), .seconds(5), .seconds(10)],
            help: "Time of DNS lookups that went to the network (cache hits excluded)")
        dnsFailures = registry.counter(name: "vigie_dns_failures_total", help: "DNS lookups that failed (timeout, SERVFAIL)")
        keyCacheHits = registry.counter(name: "vigie_dkim_key_cache_total", labels: [("outcome", "hit")],
                                            help: "DKIM public keys decoded (miss) or reused already decoded (hit)")
        keyCacheMisses = registry.counter(name: "vigie_dkim_key_cache_total", labels: [("outcome", "miss")],
                                              help: "DKIM public keys decoded (miss) or reused already decoded (hit)")
        keyCacheEntries = registry.gauge(name: "vigie_dkim_key_cache_entries", help: "Decoded DKIM public keys held")
    }

    func record(spf result: SPFResult) { spf[result]?.increment() }
    func record(dkim outcome: DKIMOutcome) {
        if outcome.signatures.isEmpty { dkim[.none]?.increment() }
        for signature in outcome.signatures { dkim[signature.result]?.increment() }
    }

    /// One result per author domain (one permerror for a message without one).
    func record(dmarc evaluation: DMARCMessageEvaluation) {
        for result in evaluation.results { dmarc[result]?.increment() }
    }
    func record(dmarcAction action: DMARCAction) { dmarcActions[action]?.increment() }

    func exposition(resolver: DNSResolver) -> [UInt8] {
        let keys = DKIMKeyCache.statistics
        let now = (resolver.statistics.queriesSent.load(ordering: .relaxed), resolver.statistics.failures.load(ordering: .relaxed),
                   keys.hits, keys.misses)
        let before = exported.withLock { exported in
            defer { exported = now }
            return exported
        }
        dnsQueries.increment(by: Int64(now.0 - before.queries))
        dnsFailures.increment(by: Int64(now.1 - before.failures))
        keyCacheHits.increment(by: Int64(now.2 &- min(now.2, before.keyHits)))
        keyCacheMisses.increment(by: Int64(now.3 &- min(now.3, before.keyMisses)))
        keyCacheEntries.set(Int64(keys.entries))
        return registry.emitToBuffer()
    }
}
