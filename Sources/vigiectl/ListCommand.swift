import ArgumentParser
import VigieControl

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List locked accounts and the busiest senders now.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "How many top senders to show.") var top: Int = 10

    func validate() throws {
        guard top > 0 else { throw ValidationError("--top must be a positive number.") }
    }

    func run() throws {
        let response = try options.send(.list(top: top))
        if options.json { return try options.printJSON(response) }
        guard case .list(let locks, let senders) = response else {
            throw CleanExit.failure("the daemon gave an unexpected answer to list")
        }
        print("Locked accounts: \(locks.isEmpty ? "none" : String(locks.count))")
        if !locks.isEmpty {
            var table = Table("ACCOUNT", "LOCKED AT", "BY", "REASON")
            for lock in locks { table.add(lock.account, Format.time(lock.lockedAt), lock.actor, lock.reason) }
            print(table.rendered)
        }
        print("\nTop senders (estimated, sliding windows):")
        if senders.isEmpty { print("none") } else {
            var table = Table("ACCOUNT", "MSGS/HOUR", "RCPTS/HOUR", "MSGS/DAY", "LOCKED")
            for sender in senders {
                table.add(sender.account, String(sender.messagesLastHour), String(sender.recipientsLastHour),
                          String(sender.messagesLastDay), sender.locked ? "yes" : "no")
            }
            print(table.rendered)
        }
    }
}
