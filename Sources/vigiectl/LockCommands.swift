import ArgumentParser
import VigieControl

struct Lock: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Lock an account: every message from it is refused until unlocked.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account (Unix login).") var account: String
    @Option(help: "Why (recorded in the audit trail).") var reason: String

    func run() throws {
        let response = try options.send(.lock(account: account, reason: reason))
        if options.json { return try options.printJSON(response) }
        print(response.line ?? "locked")
    }
}

struct Unlock: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unlock an account (after its password was changed) and clear its counters.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account (Unix login).") var account: String
    @Option(help: "Why (recorded in the audit trail).") var reason: String

    func run() throws {
        let response = try options.send(.unlock(account: account, reason: reason))
        if options.json { return try options.printJSON(response) }
        print(response.line ?? "unlocked")
    }
}

struct Reset: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Clear an account's counters (not its lock).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account (Unix login).") var account: String
    @Option(help: "Why (recorded in the audit trail).") var reason: String?

    func run() throws {
        let response = try options.send(.reset(account: account, reason: reason))
        if options.json { return try options.printJSON(response) }
        print(response.line ?? "reset")
    }
}
