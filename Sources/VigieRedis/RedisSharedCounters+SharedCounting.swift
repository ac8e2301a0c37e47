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
    /// `name` of each limit window, in the order `windows` sends them: made once,
    /// not at every decision. Unique, non-empty and without ':' by construction, so
    /// the calls skip checking the names (`namesChecked`).
    private static let limitWindows: [(name: String, metric: LimitMetric, window: LimitWindow)] =
        LimitMetric.allCases.flatMap { metric in LimitWindow.allCases.map { (name(metric, $0), metric, $0) } }

    /// The policy's windows, in a fixed order: the limits (metric by window, as
    /// `LimitMetric.allCases` and `LimitWindow.allCases` list them), then the
    /// burst's messages and recipients. `count` reads the answers in that order.
    static func windows(limits: LimitMaxima?, burstWindow: Int64) -> [Window] {
        var windows: [Window] = []
        windows.reserveCapacity(limitWindows.count + 2)
        for limit in limitWindows {
            windows.append(Window(name: limit.name, length: .milliseconds(limit.window.milliseconds),
                                  limit: limits?.maximum(limit.metric, limit.window), metric: limit.metric, role: .limit))
        }
        let burst = Duration.milliseconds(max(1000, burstWindow))
        windows.append(Window(name: burstMessagesName, length: burst, limit: limits?.burstMessages, metric: .messages, role: .burst))
        windows.append(Window(name: burstRecipientsName, length: burst, limit: limits?.burstRecipients, metric: .recipients, role: .burst))
        return windows
    }

    public func check(_ question: SharedCountQuestion, countsRefusal: Bool) throws -> SharedCount {
        Self.count(try decideCheck(account: question.account, recipients: question.recipients,
                                   windows: Self.windows(limits: question.limits, burstWindow: question.burstWindow),
                                   refusalThreshold: question.refusalThreshold, countRefusal: countsRefusal,
                                   namesChecked: true))
    }

    public func commit(_ question: SharedCountQuestion, countsRefusal: Bool) throws -> SharedCount {
        Self.count(try decideCommit(account: question.account, recipients: question.recipients,
                                    windows: Self.windows(limits: question.limits, burstWindow: question.burstWindow),
                                    countRefusal: countsRefusal, namesChecked: true))
    }

    public func add(account: AccountName, messages: Int, recipients: Int, burstWindow: Int64) throws {
        try add(account: account, messages: messages, recipients: recipients,
                windows: Self.windows(limits: nil, burstWindow: burstWindow))
    }

    public func probe() throws { try ping() }

    static func count(_ decided: Decided) -> SharedCount {
        var counters = AccountCounters()
        for (index, limit) in limitWindows.enumerated() {
            counters[limit.metric, limit.window] = decided.counts[index]
        }
        counters.burstMessages = decided.counts[limitWindows.count]
        counters.burstRecipients = decided.counts[limitWindows.count + 1]
        counters.refusalsInARow = UInt32(clamping: decided.refusalsInARow)
        counters.lastActivity = decided.now
        let verdict: SharedCount.Verdict = switch decided.verdict {
        case .accept: .accept
        case .refuse: .refuse
        case .burst: .burst
        }
        return SharedCount(verdict: verdict, counters: counters)
    }
}
