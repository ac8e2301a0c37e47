import Foundation

/// What Vigie has learnt of one account's sending, and its suspicion score: the
/// state behind "this is not how camille sends".
///
/// Fixed size (260 bytes whatever the account does), kept inline in the account's
/// entry, saved by the flusher with the counters (`StateStore.saveHistories`) and restored at start. See
/// `SuspicionWeights` for how a message is scored.
///
/// Learning: recipients are always learnt (so a stranger counts once). Networks
/// and the hour habit are learnt only while the score is calm (under half the
/// watch threshold): a stretch of suspicious mail must not teach the history that
/// the attacker's network or hours are the member's own.
public struct SendingHistory: Sendable, Equatable {
    /// Hours since the epoch of the first message seen; 0 for an empty history.
    var firstSeenHour: UInt32 = 0
    var messages: UInt32 = 0
    // Declared in this order (networks before the sketch, the 2-byte field before the
    // 1-byte ones) so the struct has no holes: 260 bytes, not 265, and an entry's
    // stride 408, not 416.
    var networks = KnownNetworks()
    /// Recipients and recipient domains the account wrote to, in one sketch (domain
    /// hashes are salted apart from address hashes): one filter of both sizes'
    /// bits holds more than two fixed halves would (PolicyMemory: bytes per account).
    var correspondents = NoveltySketch()
    var habit = SendingHabit()
    var score: Float = 0
    /// Minutes since the epoch when `score` was last decayed.
    var scoreMinute: UInt32 = 0
    var newNetworksDay: UInt16 = 0
    /// A watch was raised and the score has not fallen back under half the watch
    /// threshold since: the admins are told once per episode.
    var watched = false
    var newNetworksToday: UInt8 = 0

    public init() {}

    public var isEmpty: Bool { messages == 0 && firstSeenHour == 0 }

    /// What one accepted message did to the history.
    struct Observation {
        var assessment: SuspicionAssessment
        /// The score reached the watch threshold with this message (first time in the episode).
        var watchRaised: Bool
        /// The score is at or over the lock threshold.
        var lockReached: Bool
    }

    /// Scores an accepted message, then learns from it.
    mutating func observe(_ message: MessageSignals, now: Int64, watch: Int?, lock: Int?,
                          settings: DetectionSettings) -> Observation {
        let weights = settings.weights
        let hour = UInt32(clamping: now / 3_600_000)
        let day = UInt16(clamping: now / 86_400_000)
        let hourOfDay = Int(hour % 24)
        let establishedAfterHours = settings.establishedAfterHours
        if isEmpty { firstSeenHour = max(hour, 1) }
        decay(to: now, halfLifeMilliseconds: settings.halfLifeMilliseconds)
        habit.advance(hour: hour, day: day)
        if newNetworksDay != day {
            newNetworksDay = day
            newNetworksToday = 0
        }

        let maturity = Self.maturity(firstSeenHour: firstSeenHour, now: now, learningMilliseconds: settings.learningMilliseconds)

        // Where from.
        let familiarity: SuspicionAssessment.Familiarity
        if let network = message.network {
            switch networks.familiarity(of: network, nowHour: hour, establishedAfterHours: establishedAfterHours) {
            case .established: familiarity = .established
            case .nearby: familiarity = .nearby
            case .new: familiarity = .new
            }
            if familiarity == .new && !networks.seen(network, on: day) && newNetworksToday < .max { newNetworksToday += 1 }
        } else {
            familiarity = .host
        }

        // To whom: the sample's unknown recipients, and its distinct (unknown) domains.
        var unknownSampled = 0
        var distinctDomains = 0
        var unknownDomains = 0
        let sample = message.sampled
        for index in 0..<sample {
            let recipient = message.sample[index]
            if !correspondents.contains(recipient.address) { unknownSampled += 1 }
            var seenBefore = false
            for earlier in 0..<index where message.sample[earlier].domain == recipient.domain { seenBefore = true; break }
            if !seenBefore {
                distinctDomains += 1
                if !correspondents.contains(recipient.domain) { unknownDomains += 1 }
            }
        }
        let unknownRecipients = sample == 0 ? 0 : (unknownSampled * message.recipientCount + sample / 2) / sample

        // When and how much.
        let calm = score < Float((watch ?? lock ?? Int.max / 2)) / 2
        let unusualHour = habit.isUnusual(hourOfDay: hourOfDay)
        habit.count(hourOfDay: hourOfDay, learnHour: calm)
        let hourlyRatio = habit.hourlyRatio()

        // The score.
        var networkFactor: Float = 1
        switch familiarity {
        case .new: networkFactor = weights.newNetworkFactor
        case .nearby: networkFactor = weights.nearbyNetworkFactor
        case .established, .host: break
        }
        if Int(newNetworksToday) >= weights.manyNetworks { networkFactor *= weights.manyNetworksFactor }
        let hourFactor = unusualHour ? weights.unusualHourFactor : 1
        var volumeFactor: Float = 1
        if hourlyRatio > 4 {
            volumeFactor = min(weights.volumeFactorMax, 1 + weights.volumeStep * log2(hourlyRatio / 4))
        }
        let novelty = weights.unknownRecipient * Float(min(unknownRecipients, weights.recipientsCounted))
            + weights.unknownDomain * Float(min(unknownDomains, weights.recipientsCounted))
        var points = novelty * networkFactor * hourFactor * volumeFactor
        if familiarity == .new { points += weights.newNetworkPoints * hourFactor }
        points *= maturity
        score += points

        // Learning.
        messages &+= 1
        for index in 0..<sample {
            correspondents.insert(message.sample[index].address)
            correspondents.insert(message.sample[index].domain)
        }
        if let network = message.network {
            networks.record(network, nowHour: hour, today: day, countDay: calm, establishedAfterHours: establishedAfterHours)
        }

        let assessment = SuspicionAssessment(
            at: UnixTime(milliseconds: now), queueID: nil, points: points, score: score, network: message.network,
            networkFamiliarity: familiarity, unknownRecipients: unknownRecipients, recipients: message.recipientCount,
            unknownDomains: unknownDomains, domains: distinctDomains, hourlyRatio: hourlyRatio,
            unusualHour: unusualHour ? hourOfDay : nil, newNetworksToday: Int(newNetworksToday), maturity: maturity)
        var watchRaised = false
        if let watch, score >= Float(watch), !watched {
            watched = true
            watchRaised = true
        }
        return Observation(assessment: assessment, watchRaised: watchRaised,
                           lockReached: lock.map { score >= Float($0) } ?? false)
    }

    /// How much of the learning period a history first seen at `firstSeenHour` has
    /// behind it, 0...1 (1 at once for a zero learning period).
    static func maturity(firstSeenHour: UInt32, now: Int64, learningMilliseconds period: Int64) -> Float {
        guard period > 0 else { return 1 }
        let age = max(0, now - Int64(firstSeenHour) * 3_600_000)
        return min(1, Float(age) / Float(period))
    }

    /// Brings the score down to `now` (halving every `halfLife`), and ends a watch
    /// episode once it is back under half the watch threshold.
    mutating func decay(to now: Int64, halfLife: Duration, watch: Int? = nil) {
        decay(to: now, halfLifeMilliseconds: halfLife.milliseconds, watch: watch)
    }

    mutating func decay(to now: Int64, halfLifeMilliseconds: Int64, watch: Int? = nil) {
        let minute = UInt32(clamping: now / 60_000)
        if score > 0 && minute > scoreMinute {
            let halfLifeMinutes = max(1, Float(halfLifeMilliseconds) / 60_000)
            score *= exp2(-Float(minute - scoreMinute) / halfLifeMinutes)
            if score < 0.01 { score = 0 }
        }
        scoreMinute = max(scoreMinute, minute)
        if watched, let watch, score < Float(watch) / 2 { watched = false }
    }

    /// The score as it stands at `now`, without changing anything.
    func score(at now: Int64, halfLife: Duration) -> Float {
        var copy = self
        copy.decay(to: now, halfLife: halfLife)
        return copy.score
    }

    /// An admin vouches for a network (`vigiectl trust`): established from now on.
    mutating func trust(_ network: NetworkPrefix, now: Int64, settings: DetectionSettings) {
        let hour = UInt32(clamping: now / 3_600_000)
        if isEmpty { firstSeenHour = max(hour, 1) }
        networks.record(network, nowHour: hour, today: UInt16(clamping: now / 86_400_000), trusted: true, countDay: true,
                        establishedAfterHours: UInt32(clamping: settings.establishedAfter.milliseconds / 3_600_000))
    }

    /// After an unlock: the episode is over (the password was changed).
    mutating func clearScore() {
        score = 0
        watched = false
    }
}

