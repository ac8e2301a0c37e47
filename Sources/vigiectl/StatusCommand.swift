import ArgumentParser
import VigieControl

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show whether the daemon runs, and what it tracks.")
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let status = try options.send(.status) { if case .status(let status) = $0 { status } else { nil } }
        if options.json { return try options.printJSON(status) }
        print("""
        vigie \(status.version) running (pid \(status.pid)) since \(Format.time(status.startedAt))
        milter socket:     \(status.milterSocket)
        state:             \(status.statePath)
        configuration:     \(status.configFiles.joined(separator: ", "))
        accounts tracked:  \(status.trackedAccounts)
        accounts locked:   \(status.lockedAccounts)
        messages decided:  \(status.messagesDecided)
        internal errors:   \(status.internalErrors)
        """)
        // Said last and plainly: what a full disk means for the admin reading this.
        if let error = status.storeError {
            print("state store:       FAILING: \(error)")
        }
        if let unstored = status.unstoredLocks, unstored > 0 {
            print("locks not stored:  \(unstored) (in force now, retried every flush; a restart before the store works loses them)")
        }
    }
}
