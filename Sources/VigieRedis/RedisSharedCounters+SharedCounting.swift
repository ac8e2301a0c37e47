import VigieCore

/// The policy's shared-counting authority (VigieCore's `SharedCounting`) on Redis:
/// the policy's limits become the scripts' windows, the scripts' answer the
/// policy's `SharedCount`.
///
/// Every window is always sent, a limit of nil counting without refusing: a window
/// whose limit a reload turns on then starts from what was really sent.
extension RedisSharedCounters: SharedCounting {
    /// The names the scripts keep in the account's hash.
    static func name(_ metric: LimitMetric, _ window: LimitWindow) -> String { "\(metric.rawValue)/\(window)" }
    static let burstMessagesName = "burst/messages"
    static let burstRecipientsName = "burst/recipients"

    static func windows(limits: LimitMaxima?, burstWindow: Int64) -> [Window] {
        var windows: [Window] = []
        windows.reserveCapacity(8)
        for metric in LimitMetric.allCases {
            for window in LimitWindow.allCases {
                windows.append(Window(name: name(metric, window), length: .milliseconds(window.milliseconds),
                                      limit: limits?.maximum(metric, window), metric: metric, role: .limit))
            }
        }
        let burst = Duration.milliseconds(max(1000, burstWindow))
        windows.append(Window(name: burstMessagesName, length: burst, limit: limits?.burstMessages, metric: .messages, role: .burst))
        windows.append(Window(name: burstRecipientsName, length: burst, limit: limits?.burstRecipients, metric: .recipients, role: .burst))
        return windows
    }

    public func check(_ question: SharedCountQuestion, countsRefusal: Bool) throws -> SharedCount {
        Self.count(try check(account: question.account, recipients: question.recipients,
                             windows: Self.windows(limits: question.limits, burstWindow: question.burstWindow),
                             refusalThreshold: question.refusalThreshold, countRefusal: countsRefusal))
    }

    public func commit(_ question: SharedCountQuestion, countsRefusal: Bool) throws -> SharedCount {
        Self.count(try commit(account: question.account, recipients: question.recipients,
                              windows: Self.windows(limits: question.limits, burstWindow: question.burstWindow),
                              countRefusal: countsRefusal))
    }

    public func add(account: AccountName, messages: Int, recipients: Int, burstWindow: Int64) throws {
        try add(account: account, messages: messages, recipients: recipients,
                windows: Self.windows(limits: nil, burstWindow: burstWindow))
    }

    public func probe() throws { try ping() }

    static func count(_ outcome: Outcome) -> SharedCount {
        var counters = AccountCounters()
        for metric in LimitMetric.allCases {
            for window in LimitWindow.allCases {
                counters[metric, window] = outcome.windows[name(metric, window)] ?? SlidingWindowCount()
            }
        }
        counters.burstMessages = outcome.windows[burstMessagesName] ?? SlidingWindowCount()
        counters.burstRecipients = outcome.windows[burstRecipientsName] ?? SlidingWindowCount()
        counters.refusalsInARow = UInt32(clamping: outcome.refusalsInARow)
        counters.lastActivity = outcome.now.milliseconds
        let verdict: SharedCount.Verdict = switch outcome.verdict {
        case .accept: .accept
        case .refuse: .refuse
        case .burst: .burst
        }
        return SharedCount(verdict: verdict, counters: counters)
    }
}
