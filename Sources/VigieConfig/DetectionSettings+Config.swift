import VigieCore

/// Reading `[detection]` (the suspicion score) and the `detection` tables of
/// `[groups.NAME]` and `[accounts.NAME]`.
///
/// An absent `[detection]` means detection on with the built-in thresholds: it
/// never locks an account in its first `learning_period`, so turning it on by
/// default cannot lock anyone the day Vigie is installed.
extension DetectionSettings {
    static let keys = ["enabled", "watch", "lock", "half_life", "learning_period", "established_after", "history_retention"]
    static let layerKeys = ["watch", "lock"]

    init(_ section: ConfigSection) throws(ConfigError) {
        try section.allowOnly(Self.keys)
        let defaults = DetectionSettings()
        var watch = defaults.watch, lock = defaults.lock
        if let value = try section.scoreThreshold("watch") { watch = value.maximum }
        if let value = try section.scoreThreshold("lock") { lock = value.maximum }
        if let watch, let lock, watch >= lock {
            throw section.error("watch", "expected a watch threshold below lock (\(lock)): a watch at or above the lock would never be seen before the lock")
        }
        self.init(
            enabled: try section.bool("enabled") ?? true, watch: watch, lock: lock,
            halfLife: try section.duration("half_life", atLeast: .seconds(60), atMost: .seconds(30 * 86_400)) ?? defaults.halfLife,
            learningPeriod: try section.duration("learning_period", atLeast: .seconds(0), atMost: .seconds(90 * 86_400))
                ?? defaults.learningPeriod,
            establishedAfter: try section.duration("established_after", atLeast: .seconds(0), atMost: .seconds(30 * 86_400))
                ?? defaults.establishedAfter,
            historyRetention: try section.duration("history_retention", atLeast: .seconds(86_400), atMost: .seconds(730 * 86_400))
                ?? defaults.historyRetention)
    }

    /// `[groups.NAME.detection]` / `[accounts.NAME.detection]`: `watch`, `lock`.
    static func readLayer(_ section: ConfigSection, into layer: inout SendLimitsLayer) throws(ConfigError) {
        try section.allowOnly(layerKeys)
        layer.detectionWatch = try section.scoreThreshold("watch")
        layer.detectionLock = try section.scoreThreshold("lock")
        if let watch = layer.detectionWatch?.maximum, let lock = layer.detectionLock?.maximum, watch >= lock {
            throw section.error("watch", "expected a watch threshold below lock (\(lock))")
        }
    }
}

extension ConfigSection {
    /// A suspicion score threshold: a positive integer, or "off" (`.unlimited`).
    func scoreThreshold(_ key: String) throws(ConfigError) -> LimitValue? {
        guard let value = table[key] else { return nil }
        if let score = value.integer, score >= 1, score <= 1_000_000 { return .maximum(score) }
        if value.string == "off" { return .unlimited }
        throw error(key, "expected a score from 1 to 1000000, or \"off\", got \(value.summary)")
    }
}
