import Testing
import VigieCore

/// Per-window limits and the per-message recipient cap, as `SendPolicy` applies them.
@Suite("Window limits")
struct WindowLimitTests {
    /// The first window of each length is empty before the test, so the counts below
    /// are exact and the retry time can be computed by hand.
    @Test(arguments: LimitMetric.allCases, LimitWindow.allCases)
    func eachWindowLimitsItsMetric(metric: LimitMetric, window: LimitWindow) throws {
        let limit = metric == .messages ? 3 : 10
        let layer: SendLimitsLayer = metric == .messages ? .numbers(messages: [window: limit]) : .numbers(recipients: [window: limit])
        let h = Harness(.only(layer))
        // Messages: 3 messages of 7 recipients (recipients are not limited here).
        // Recipients: 2 messages of 5 recipients.
        let (fitting, recipients) = metric == .messages ? (3, 7) : (2, 5)
        for index in 0..<fitting {
            #expect(h.send(.alice, recipients: recipients, queueID: "Q\(index)") == .accept)
        }

        let refused = h.policy.check(account: .alice, recipients: 1, countsAsRefusal: false)
        let breach = try #require(refused.breach, "expected a refusal, got \(refused)")
        #expect(breach.kind == .window(metric, window))
        #expect(breach.limit == limit)
        #expect(breach.count == limit)

        // current = limit, room = limit - 1: it fits once the count, now the previous
        // window, has decayed by 1/limit into the next window.
        let length = window.duration.milliseconds
        let now = h.clock.now().milliseconds
        let expected = now - now % length + length + length / Int64(limit)
        let retry = try #require(breach.retryAt)
        #expect(abs(retry.milliseconds - expected) <= 1, "retry at \(retry), expected \(expected)ms")

        // The retry time is true: a second earlier it is still refused, then it goes.
        h.clock.set(UnixTime(milliseconds: retry.milliseconds - 1000))
        #expect(h.policy.check(account: .alice, recipients: 1, countsAsRefusal: false).breach != nil)
        h.clock.set(retry)
        #expect(h.policy.check(account: .alice, recipients: 1, countsAsRefusal: false) == .accept)
    }

    @Test func aLimitOnOneAccountDoesNotTouchAnother() {
        let h = Harness(.only(.numbers(messages: [.hour: 2])))
        #expect(h.send(.alice, queueID: "A1") == .accept)
        #expect(h.send(.alice, queueID: "A2") == .accept)
        #expect(h.send(.alice, queueID: "A3").breach != nil)
        #expect(h.send(.bob, queueID: "B1") == .accept)
        #expect(h.send(.bob, queueID: "B2") == .accept)
    }

    @Test func recipientsPerMessageCapHasNoRetryTime() throws {
        let h = Harness(.only(.numbers(recipients: [.day: 10_000], perMessage: 50)))
        #expect(h.send(.alice, recipients: 50, queueID: "Q1") == .accept)

        let breach = try #require(h.send(.alice, recipients: 51, queueID: "Q2").breach)
        #expect(breach == LimitBreach(kind: .recipientsPerMessage, limit: 50, count: 51, retryAt: nil))

        // Waiting does not help, and the refused message counted nothing.
        h.clock.advance(by: .seconds(3 * 86_400))
        #expect(h.policy.check(account: .alice, recipients: 51, countsAsRefusal: false).breach?.kind == .recipientsPerMessage)
        #expect(try h.used(.alice, .recipients, .day) == 0)
    }

    /// Three windows breached at once: the notice must name the one that frees up
    /// last, here the day (next midnight plus half a day), not the minute.
    @Test func reportsTheBreachThatFreesUpLast() throws {
        let h = Harness(.only(.numbers(messages: [.minute: 2, .hour: 2, .day: 2])))
        #expect(h.send(.alice, queueID: "Q1") == .accept)
        #expect(h.send(.alice, queueID: "Q2") == .accept)

        let breach = try #require(h.policy.check(account: .alice, recipients: 1, countsAsRefusal: false).breach)
        #expect(breach.kind == .window(.messages, .day))
        let nextMidnight = UnixTime.testMidnight.milliseconds + 86_400_000
        #expect(breach.retryAt.map { abs($0.milliseconds - (nextMidnight + 43_200_000)) <= 1 } == true)
    }

    /// Metrics mixed: a message-per-minute breach frees up in two minutes, the
    /// recipients-per-hour one in 1 h 12 min; the later is reported and is true.
    @Test func reportsTheLaterOfAMessageAndARecipientBreach() throws {
        let h = Harness(.only(.numbers(messages: [.minute: 1], recipients: [.hour: 10])))
        #expect(h.send(.alice, recipients: 5, queueID: "Q1") == .accept)

        // One recipient: only the minute window is in the way.
        let minuteOnly = try #require(h.policy.check(account: .alice, recipients: 1, countsAsRefusal: false).breach)
        #expect(minuteOnly.kind == .window(.messages, .minute))
        #expect(minuteOnly.retryAt == UnixTime.testStart + .seconds(120))

        // Six recipients: 5 + 6 > 10 in the hour as well, and that frees up later.
        let both = try #require(h.policy.check(account: .alice, recipients: 6, countsAsRefusal: false).breach)
        #expect(both.kind == .window(.recipients, .hour))
        #expect(both.count == 5)
        let retry = try #require(both.retryAt)
        #expect(abs(retry.milliseconds - (UnixTime.testStart + .seconds(3600 + 720)).milliseconds) <= 1)

        h.clock.set(retry)
        #expect(h.policy.check(account: .alice, recipients: 6, countsAsRefusal: false) == .accept)
    }

    /// Bug report (SlidingWindowCount.earliestFit): the boundary is computed in
    /// floating point and could be one ulp short, so at `retryAt` itself the message was
    /// still refused (fixed: fitting is decided in integers). Found by `earliestFitIsWhenTheMessageFirstFits`; here with the
    /// club's 500 recipients per hour.
    @Test func retryTimeOnAnExactBoundary() throws {
        let h = Harness(.only(.numbers(recipients: [.hour: 500])))
        #expect(h.send(.alice, recipients: 500, queueID: "Q1") == .accept)
        h.clock.set(UnixTime.testStart + .seconds(3600 + 1440))
        // 500 × (1 - 0.4) + 200 = 500: fits exactly.
        #expect(h.send(.alice, recipients: 200, queueID: "Q2") == .accept)

        let breach = try #require(h.policy.check(account: .alice, recipients: 5, countsAsRefusal: false).breach)
        let retry = try #require(breach.retryAt)
        // 500 × (1 - f) + 200 + 5 <= 500 from f = 0.41, that is 24 min 36 s into the hour.
        #expect(retry == UnixTime.testStart + .seconds(3600 + 1476))
        h.clock.set(retry)
        #expect(h.policy.check(account: .alice, recipients: 5, countsAsRefusal: false) == .accept)
        h.clock.set(UnixTime(milliseconds: retry.milliseconds - 1))
        #expect(h.policy.check(account: .alice, recipients: 5, countsAsRefusal: false).breach != nil,
                "one millisecond earlier it does not fit yet")
    }
}
