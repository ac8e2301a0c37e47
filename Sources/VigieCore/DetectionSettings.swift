/// How the suspicion score is computed and when it acts (`[detection]` in vigie.toml).
///
/// The two thresholds can be overridden by Unix group and by account like limits
/// (`[groups.newsletter.detection] lock = "off"`): see `SendLimitsLayer`. The rest
/// is global.
public struct DetectionSettings: Sendable, Equatable {
    /// Off: no history is kept and nothing is scored (the volume limits and the burst
    /// lock still apply).
    public var enabled: Bool
    /// Score at which the admins are told once (log line, metric, mail); nil: never.
    public var watch: Int?
    /// Score at which the account is locked as by the burst rule; nil: never.
    public var lock: Int?
    /// The score halves in this time without new suspicious mail.
    public private(set) var halfLife: Duration
    /// A history younger than this scores in proportion to its age: nothing on the
    /// first day, in full after `learningPeriod`. A new member (or the first week
    /// after Vigie is installed) is never locked for being new; the volume limits and
    /// the burst lock protect that period.
    public private(set) var learningPeriod: Duration
    /// A network used on two days, at least this long after it was first seen, is
    /// the account's own.
    public private(set) var establishedAfter: Duration
    /// An account that sent nothing for this long is forgotten, history included.
    public var historyRetention: Duration
    public var weights: SuspicionWeights
    // The durations in the units a decision uses, worked out in `init` (the only way
    // to set the durations, so the two never disagree): `Duration.milliseconds` is
    // 128-bit arithmetic, a fifth of the score's instructions when it ran per
    // message (callgrind, benchmarks/).
    private(set) var halfLifeMilliseconds: Int64 = 0
    private(set) var learningMilliseconds: Int64 = 0
    private(set) var establishedAfterHours: UInt32 = 0

    public init(enabled: Bool = true, watch: Int? = 60, lock: Int? = 100, halfLife: Duration = .seconds(12 * 3600),
                learningPeriod: Duration = .seconds(7 * 86_400), establishedAfter: Duration = .seconds(20 * 3600),
                historyRetention: Duration = .seconds(90 * 86_400), weights: SuspicionWeights = SuspicionWeights()) {
        self.enabled = enabled
        self.watch = watch
        self.lock = lock
        self.halfLife = halfLife
        self.learningPeriod = learningPeriod
        self.establishedAfter = establishedAfter
        self.historyRetention = historyRetention
        self.weights = weights
        self.halfLifeMilliseconds = halfLife.milliseconds
        self.learningMilliseconds = learningPeriod.milliseconds
        self.establishedAfterHours = UInt32(clamping: establishedAfter.milliseconds / 3_600_000)
    }

    public static let disabled = DetectionSettings(enabled: false, watch: nil, lock: nil)
}

/// What each signal is worth. Not in vigie.toml: the thresholds are the knob an
/// admin turns; these are the model, and the trace replay
/// (`benchmarks/detection`) is what they were chosen against.
///
/// Points for one accepted message:
///
///     novelty  = unknownRecipient × min(unknown recipients, recipientsCounted)
///              + unknownDomain    × min(unknown domains, recipientsCounted)
///     context  = network factor × hour factor × volume factor
///     points   = maturity × (novelty × context + newNetworkPoints × hour factor, if the network is new)
///
/// - network factor: `newNetworkFactor` from a network never used on two days,
///   `nearbyNetworkFactor` from the provider block of an established one, 1 from an
///   established network or the host itself; × `manyNetworksFactor` once the
///   account used `manyNetworks` new networks in a day (an attacker rotating
///   proxies).
/// - hour factor: `unusualHourFactor` at an hour the account does not send at.
/// - volume factor: 1 up to 4× the usual hourly volume, then +`volumeStep` per
///   doubling, at most `volumeFactorMax`.
/// - maturity: the history's age over the learning period, at most 1.
///
/// Mail to known people from known places scores nothing, however much of it.
public struct SuspicionWeights: Sendable, Equatable {
    public var unknownRecipient: Float = 1
    public var unknownDomain: Float = 0.5
    public var recipientsCounted = 5
    public var newNetworkFactor: Float = 4
    public var newNetworkPoints: Float = 2
    public var nearbyNetworkFactor: Float = 1
    public var manyNetworks = 3
    public var manyNetworksFactor: Float = 1.5
    public var unusualHourFactor: Float = 1.5
    public var volumeStep: Float = 0.25
    public var volumeFactorMax: Float = 2

    public init() {}
}
