import Prometheus
import SRSLookup
import Synchronization
import VigieCore

/// Vigie's Prometheus metrics, created once at start.
///
/// Labels are bounded (verdict, limit, stage): never an account or an address, so
/// a stolen password sending to 86,000 addresses cannot blow up the time series.
/// Per-account detail belongs to `vigiectl`. conf/grafana and conf/prometheus use
/// exactly these names.
public final class VigieMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    let accepted: Counter
    let overLimit: Counter
    let lockedRefusals: Counter
    let quarantined: Counter
    /// Mail from the internet through the submission milter's smtpd: not a
    /// member's, accepted unjudged (the inbound role is another process).
    let external: Counter
    let tempfailed: Counter
    let groupLookupFailures: Counter
    let quarantinedTotal: Counter
    let locksByBurst: Counter
    let locksByAdmin: Counter
    let locksByDetection: Counter
    let detectionWatches: Counter
    let unlocks: Counter
    let lockedAccounts: Gauge
    let trackedAccounts: Gauge
    let burstPressure: Gauge
    /// Not in the registry: recorded twice per message, without a lock (`DecisionHistogram`).
    let decisionSeconds: DecisionHistogram
    let sessionsTotal: Counter
    let sessionsActive: Gauge
    let storeErrors: Counter
    let storeDegraded: Gauge
    let unusableLogins: Counter
    let srsForward: Counter
    let srsReverse: Counter
    let srsRefused: Counter
    /// What the SRS lookup service had counted at the last scrape: its counters are
    /// its own atomics, carried over to Prometheus as increments.
    private let srsExported = Mutex<(forwarded: Int, reversed: Int, refused: Int)>((0, 0, 0))
    private let refusalsByLimit: [String: Counter]
    private let internalErrorsByStage: [String: Counter]

    static let limitLabels: [String] = LimitMetric.allCases.flatMap { metric in
        LimitWindow.allCases.map { "\(metric.rawValue)_per_\($0)" }
    } + ["recipients_per_message"]
    static let stages = ["mail", "rcpt", "eom", "control", "store"]

    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        func verdict(_ name: String) -> Counter {
            registry.counter(name: "vigie_messages_total", labels: [("verdict", name)],
                                 help: "Messages decided, by verdict (external: not a member's, not judged)")
        }
        accepted = verdict("accepted")
        overLimit = verdict("over_limit")
        lockedRefusals = verdict("locked")
        quarantined = verdict("quarantined")
        external = verdict("external")
        tempfailed = verdict("tempfailed")
        groupLookupFailures = registry.counter(
            name: "vigie_group_lookup_failures_total",
            help: "Group lookups (NSS) that failed or outlasted decision_timeout; each message is tempfailed")
        quarantinedTotal = registry.counter(name: "vigie_quarantined_total",
                                                help: "Messages put in Postfix's hold queue as evidence of a lock")
        locksByBurst = registry.counter(name: "vigie_locks_total", labels: [("by", "burst")], help: "Accounts locked")
        locksByAdmin = registry.counter(name: "vigie_locks_total", labels: [("by", "admin")], help: "Accounts locked")
        locksByDetection = registry.counter(name: "vigie_locks_total", labels: [("by", "detection")], help: "Accounts locked")
        detectionWatches = registry.counter(
            name: "vigie_detection_watches_total",
            help: "Accounts whose suspicion score reached the watch threshold (once per episode)")
        unlocks = registry.counter(name: "vigie_unlocks_total", help: "Accounts unlocked by an admin")
        lockedAccounts = registry.gauge(name: "vigie_locked_accounts", help: "Accounts locked now")
        trackedAccounts = registry.gauge(name: "vigie_tracked_accounts", help: "Accounts with counters in memory")
        burstPressure = registry.gauge(
            name: "vigie_burst_pressure_max",
            help: "Highest ratio, over all accounts, of burst-window usage to that account's burst threshold")
        decisionSeconds = DecisionHistogram(
            name: "vigie_decision_seconds",
            buckets: [.microseconds(5), .microseconds(20), .microseconds(100), .microseconds(500), .milliseconds(2),
                      .milliseconds(10), .milliseconds(50), .milliseconds(250), .seconds(1),
                      // A decision that waits (a busy state file, a slow group
                      // directory) lands here: bounded by decision_timeout, and an
                      // alert long before Postfix's 30 s milter_command_timeout.
                      .seconds(2), .seconds(5), .seconds(10), .seconds(20)],
            help: "Time Vigie spends deciding one milter stage (MAIL, RCPT, end of message)")
        sessionsTotal = registry.counter(name: "vigie_milter_sessions_total", help: "Milter connections from Postfix")
        sessionsActive = registry.gauge(name: "vigie_milter_sessions_active", help: "Milter connections open now")
        storeErrors = registry.counter(name: "vigie_store_errors_total",
                                           help: "Failed calls to the state store (writes; with Redis also counting and lock subscription)")
        storeDegraded = registry.gauge(
            name: "vigie_store_degraded",
            help: "1 while this host decides on its own counters or may miss other hosts' locks (Redis unreachable); 0 otherwise")
        unusableLogins = registry.counter(
            name: "vigie_unusable_logins_total",
            help: "Recipients tempfailed because the SASL login cannot be an account name (empty, too long, control characters)")
        srsForward = registry.counter(name: "vigie_srs_rewrites_total", labels: [("direction", "forward")],
                                          help: "Addresses rewritten by the SRS lookup service")
        srsReverse = registry.counter(name: "vigie_srs_rewrites_total", labels: [("direction", "reverse")],
                                          help: "Addresses rewritten by the SRS lookup service")
        srsRefused = registry.counter(name: "vigie_srs_refused_total",
                                          help: "SRS recipients refused at RCPT (bad hash, expired, malformed)")
        var refusals: [String: Counter] = [:]
        for label in Self.limitLabels {
            refusals[label] = registry.counter(name: "vigie_refusals_total", labels: [("limit", label)],
                                                   help: "Refusals for a limit, by limit")
        }
        refusalsByLimit = refusals
        var errors: [String: Counter] = [:]
        for stage in Self.stages {
            errors[stage] = registry.counter(name: "vigie_internal_errors_total", labels: [("stage", stage)],
                                                 help: "Internal errors, by stage")
        }
        internalErrorsByStage = errors
    }

    func refused(_ kind: LimitBreach.Kind) {
        let label: String = switch kind {
        case .window(let metric, let window): "\(metric.rawValue)_per_\(window)"
        case .recipientsPerMessage: "recipients_per_message"
        }
        refusalsByLimit[label]?.increment()
        overLimit.increment()
    }

    func internalError(stage: String) { internalErrorsByStage[stage]?.increment() }

    /// The exposition text, with the gauges that are read rather than counted
    /// brought up to date first.
    func exposition(policy: SendPolicy, srs: SRSLookupTable.Statistics? = nil) -> [UInt8] {
        if let srs {
            let now = (srs.forwarded.load(ordering: .relaxed), srs.reversed.load(ordering: .relaxed),
                       srs.refused.load(ordering: .relaxed))
            let before = srsExported.withLock { exported in
                defer { exported = (now.0, now.1, now.2) }
                return exported
            }
            srsForward.increment(by: Int64(now.0 - before.forwarded))
            srsReverse.increment(by: Int64(now.1 - before.reversed))
            srsRefused.increment(by: Int64(now.2 - before.refused))
        }
        lockedAccounts.set(to: Double(policy.activeLocks().count))
        trackedAccounts.set(to: Double(policy.trackedAccounts))
        burstPressure.set(to: policy.burstPressureMax())
        var text = registry.emitToBuffer()
        decisionSeconds.emit(into: &text)
        return text
    }
}
