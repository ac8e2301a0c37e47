import ArgumentParser
import VigieControl

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show an account: limits in force and where they come from, counters, suspicion score, usual networks, locks, held mail.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account (Unix login).") var account: String

    func run() throws {
        let report = try options.send(.show(account: account)) { if case .report(let report) = $0 { report } else { nil } }
        if options.json { return try options.printJSON(report) }
        print("Account:  \(report.account)\(report.exempt ? " (exempt from limits)" : "")")
        print("Groups:   \(report.groups.isEmpty ? "-" : report.groups.joined(separator: ", "))")
        if let lock = report.lock {
            print("Status:   LOCKED since \(Format.time(lock.lockedAt)) by \(lock.actor): \(lock.reason)")
        } else {
            print("Status:   active")
        }
        print("Refused in a row: \(report.refusalsInARow)\n")
        var table = Table("LIMIT", "USED", "MAX", "FROM")
        for usage in report.usage {
            table.add("\(usage.metric) per \(usage.window)", String(usage.used), usage.limit.map(String.init) ?? "unlimited", usage.source)
        }
        table.add("recipients per message", "-", report.recipientsPerMessage.map(String.init) ?? "unlimited",
                  report.recipientsPerMessageSource)
        print(table.rendered)
        if let detection = report.detection {
            print("")
            DetectionText.print(detection)
        }
        print("\nHistory:")
        if report.history.isEmpty { print("none") } else {
            var history = Table("WHEN", "ACTION", "BY", "REASON")
            for event in report.history { history.add(Format.time(event.at), event.action.rawValue, event.actor, event.reason) }
            print(history.rendered)
        }
        print("\nRecorded queue ids (evidence of locks):")
        if report.evidence.isEmpty { print("none") } else {
            var evidence = Table("LOCK", "QUEUE ID", "ACCEPTED AT", "KIND")
            for item in report.evidence {
                evidence.add(String(item.lockID), item.queueID, Format.time(item.acceptedAt), item.tripped ? "quarantined (hold queue)" : "accepted during burst")
            }
            print(evidence.rendered)
        }
    }
}
