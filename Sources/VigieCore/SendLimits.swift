/// A partial set of limits, as one layer of configuration writes it (defaults, a
/// group, an account). `nil` means "this layer says nothing"; `.unlimited` is an
/// explicit "no limit".
public struct SendLimitsLayer: Sendable, Equatable {
    public var messages: [LimitWindow: LimitValue]
    public var recipients: [LimitWindow: LimitValue]
    public var recipientsPerMessage: LimitValue?
    /// Burst thresholds for this layer (messages / recipients within the burst
    /// window): a newsletter group needs more than a person does. The window and the
    /// refusals-in-a-row signal stay global (`BurstRule`).
    public var burstMessages: LimitValue?
    public var burstRecipients: LimitValue?
    /// Suspicion score thresholds for this layer (`[groups.NAME.detection]`):
    /// `.unlimited` is "off" (the newsletter group writes to strangers by design).
    public var detectionWatch: LimitValue?
    public var detectionLock: LimitValue?

    public init(
        messages: [LimitWindow: LimitValue] = [:],
        recipients: [LimitWindow: LimitValue] = [:],
        recipientsPerMessage: LimitValue? = nil,
        burstMessages: LimitValue? = nil,
        burstRecipients: LimitValue? = nil,
        detectionWatch: LimitValue? = nil,
        detectionLock: LimitValue? = nil
    ) {
        self.messages = messages
        self.recipients = recipients
        self.recipientsPerMessage = recipientsPerMessage
        self.burstMessages = burstMessages
        self.burstRecipients = burstRecipients
        self.detectionWatch = detectionWatch
        self.detectionLock = detectionLock
    }
}

/// One limit: a maximum count, or none.
public enum LimitValue: Sendable, Equatable, Comparable, CustomStringConvertible {
    case maximum(Int)
    case unlimited

    public var maximum: Int? {
        if case .maximum(let value) = self { return value }
        return nil
    }

    /// Orders by generosity: a larger maximum is "greater", unlimited is the greatest.
    public static func < (lhs: LimitValue, rhs: LimitValue) -> Bool {
        switch (lhs, rhs) {
        case (.maximum(let a), .maximum(let b)): a < b
        case (.maximum, .unlimited): true
        case (.unlimited, _): false
        }
    }

    public var description: String {
        switch self {
        case .maximum(let value): String(value)
        case .unlimited: "unlimited"
        }
    }
}

/// Where a limit in force came from, so `vigiectl show` can explain it.
public enum LimitSource: Sendable, Equatable, CustomStringConvertible {
    case defaults
    case group(String)
    case account

    public var description: String {
        switch self {
        case .defaults: "default"
        case .group(let name): "group \(name)"
        case .account: "account"
        }
    }
}

/// One limit in force and its origin.
public struct ResolvedLimit: Sendable, Equatable {
    public var value: LimitValue
    public var source: LimitSource

    public init(value: LimitValue, source: LimitSource) {
        self.value = value
        self.source = source
    }
}

/// The limits in force for one account, every field resolved.
///
/// Stored as fixed-size tuples-by-window rather than dictionaries: read on every
/// message, and a dictionary lookup would hash on the hot path.
public struct EffectiveLimits: Sendable, Equatable {
    /// Indexed by `LimitWindow.rawValue`.
    public var messages: [ResolvedLimit]
    public var recipients: [ResolvedLimit]
    public var recipientsPerMessage: ResolvedLimit
    /// Burst thresholds in force (`.unlimited` when that signal is off).
    public var burstMessages: ResolvedLimit
    public var burstRecipients: ResolvedLimit
    /// Suspicion score thresholds in force (`.unlimited` when off).
    public var detectionWatch: ResolvedLimit
    public var detectionLock: ResolvedLimit

    public func limit(_ metric: LimitMetric, _ window: LimitWindow) -> ResolvedLimit {
        switch metric {
        case .messages: messages[window.rawValue]
        case .recipients: recipients[window.rawValue]
        }
    }
}
