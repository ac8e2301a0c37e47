import Foundation
import VigieCore

/// Replays a trace from fixtures/traces (make-traces.py) through the send policy
/// with an injected clock, the way the milter glue drives it: each recipient is
/// checked at RCPT on the SMTP path (a refused recipient is dropped, the message goes
/// to the others), then the message is committed at end of message with its
/// signals (client network, recipients); the local path is only committed.
struct TraceReplay {
    struct Message {
        var time: Int64
        var account: AccountName
        var local: Bool
        var client: String?
        var recipients: [String]
        /// Which file it came from: "benign" or the attack's name.
        var source: String
    }

    enum Outcome: Equatable { case delivered, refused, held }

    struct Event {
        var message: Message
        var outcome: Outcome
        var verdict: Verdict
    }

    /// fixtures/traces, or `VIGIE_TRACES` (traces made with another seed:
    /// `make-traces.py DIR SEED`).
    static let directory = ProcessInfo.processInfo.environment["VIGIE_TRACES"].map { URL(fileURLWithPath: $0) }
        ?? URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/traces")

    static func load(_ name: String, source: String) throws -> [Message] {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 5, let time = Int64(fields[0]) else { return nil }
            return Message(time: time, account: AccountName(normalized: String(fields[1])), local: fields[2] == "local",
                           client: fields[3] == "-" ? nil : String(fields[3]),
                           recipients: fields[4].split(separator: ",").map(String.init), source: source)
        }
    }

    /// Merges sorted traces by time.
    static func merge(_ traces: [[Message]]) -> [Message] {
        traces.flatMap { $0 }.sorted { $0.time < $1.time }
    }

    let harness: Harness

    init(settings: PolicySettings, memberships: [AccountName: [String]], start: Int64) {
        harness = Harness(settings, start: UnixTime(milliseconds: start), memberships: memberships)
    }

    /// Plays `messages`, calling `observe` after each; flushes the counters (and
    /// histories) once a simulated second has passed, as the daemon's flusher does.
    func play(_ messages: [Message], observe: (Event) -> Void) {
        let policy = harness.policy
        var nextFlush: Int64 = 0
        var queueNumber = 0
        for message in messages {
            harness.clock.set(UnixTime(milliseconds: message.time))
            if message.time >= nextFlush {
                policy.flushCounters()
                nextFlush = message.time + 60_000
            }
            queueNumber += 1
            let queueID = "Q\(queueNumber)"
            var signals = MessageSignals(network: message.client.flatMap(NetworkPrefix.init(clientAddress:)))
            var accepted = 0
            var refusalCounted = false
            var tripped: Verdict?
            var last: Verdict = .accept
            for recipient in message.recipients {
                if message.local || tripped != nil {
                    accepted += 1
                    signals.add(recipient: recipient)
                    continue
                }
                let verdict = policy.check(account: message.account, recipients: accepted + 1, countsAsRefusal: !refusalCounted)
                switch verdict {
                case .accept:
                    accepted += 1
                    signals.add(recipient: recipient)
                case .lockedNow:
                    accepted += 1
                    signals.add(recipient: recipient)
                    tripped = verdict
                case .overLimit, .locked, .undecided:
                    refusalCounted = true
                    last = verdict
                }
            }
            if let tripped {
                observe(Event(message: message, outcome: .held, verdict: tripped))
                continue
            }
            guard accepted > 0 else {
                observe(Event(message: message, outcome: .refused, verdict: last))
                continue
            }
            let verdict = policy.commit(account: message.account, recipients: accepted, queueID: queueID,
                                        countsAsRefusal: !refusalCounted, signals: signals)
            switch verdict {
            case .accept: observe(Event(message: message, outcome: .delivered, verdict: verdict))
            case .lockedNow: observe(Event(message: message, outcome: .held, verdict: verdict))
            case .overLimit, .locked, .undecided: observe(Event(message: message, outcome: .refused, verdict: verdict))
            }
        }
    }
}
