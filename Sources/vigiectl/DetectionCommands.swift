import ArgumentParser
import VigieControl
import VigieCore

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the last decisions that moved an account's suspicion score, and why.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account (Unix login).") var account: String

    func run() throws {
        let response = try options.send(.explain(account: account))
        if options.json { return try options.printJSON(response) }
        guard case .explanation(let moves, let detection) = response else {
            throw CleanExit.failure("the daemon gave an unexpected answer to explain")
        }
        print(DetectionText.scoreLine(detection))
        guard !moves.isEmpty else {
            print("No recent message moved the score.")
            return
        }
        var table = Table("WHEN", "QUEUE ID", "POINTS", "SCORE", "WHY")
        for move in moves {
            table.add(Format.time(move.at), move.queueID ?? "-", "+" + DetectionText.decimal(move.points),
                      String(Int(move.score.rounded())), move.reasons)
        }
        print(table.rendered)
    }
}

struct Trust: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a network as an account's own (a new office, a new phone provider).",
        discussion: "Mail from it no longer counts as coming from a new network. Recorded in the audit trail.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account (Unix login).") var account: String
    @Argument(help: "The network: 198.51.100.0/24, 2001:db8:1::/48, or one address (its /24 or /48).") var network: String
    @Option(help: "Why (recorded in the audit trail).") var reason: String

    func run() throws {
        let response = try options.send(.trust(account: account, network: network, reason: reason))
        if options.json { return try options.printJSON(response) }
        print(response.line ?? "trusted")
    }
}

/// The suspicion score in words, for `show` and `explain`.
enum DetectionText {
    static func scoreLine(_ detection: DetectionReport) -> String {
        let watch = detection.watch.map { "watch at \($0) (\(detection.watchSource))" } ?? "watch off (\(detection.watchSource))"
        let lock = detection.lock.map { "lock at \($0) (\(detection.lockSource))" } ?? "lock off (\(detection.lockSource))"
        let learnt = detection.learnt < 1 ? ", history \(Int((detection.learnt * 100).rounded()))% learnt" : ""
        return "Suspicion: score \(Int(detection.score.rounded())), \(watch), \(lock)\(detection.watched ? ", WATCHED" : "")\(learnt)"
    }

    static func decimal(_ value: Float) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }

    static func print(_ detection: DetectionReport) {
        Swift.print(scoreLine(detection))
        let hourly = detection.usualHourlyVolume.map { "\(decimal($0)) per active hour" } ?? "not known yet"
        let daily = detection.usualDailyVolume.map { "\(decimal($0)) per day" } ?? "not known yet"
        Swift.print("Usual volume: \(hourly), \(daily); \(detection.messages) messages seen since "
                    + (detection.firstSeen.map(Format.time) ?? "-"))
        Swift.print("Usual hours (UTC): " + (detection.usualHours.isEmpty ? "-" : detection.usualHours.map { "\($0)h" }.joined(separator: " ")))
        if let last = detection.lastMove { Swift.print("Last move: \(last.summary)") }
        if detection.networks.isEmpty {
            Swift.print("Networks: none yet")
        } else {
            var table = Table("NETWORK", "STATUS", "DAYS USED", "LAST USED")
            for network in detection.networks {
                let status = network.trusted ? "trusted" : network.established ? "usual" : "new"
                table.add(network.network, status, String(network.daysSeen), Format.day(network.lastSeen))
            }
            Swift.print(table.rendered)
        }
    }
}
