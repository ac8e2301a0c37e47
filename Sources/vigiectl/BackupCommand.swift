import ArgumentParser
import VigieStore

/// `vigiectl backup FILE`: a consistent copy of the state file, daemon running or not.
///
/// vigiectl opens the file itself (read-only) rather than asking the daemon over the
/// control socket: the daemon would then write a file at a path a control client
/// chose, as the daemon user, who owns the state itself (an admin-group member could
/// point it at `state.sqlite`); and a backup must also work while the daemon is
/// stopped. The state is owner-only (0600), so this needs root or the daemon user,
/// as reading the directory does.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent copy of the state file (locks, audit trail, evidence, counters) to FILE.",
        discussion: "Uses SQLite's online backup: safe while the daemon runs, and the copy is one self-contained file (mode 0600). To restore, stop vigie and put the copy in place of daemon.state_path.")
    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: "State file to copy (default: daemon.state_path from the configuration).")
    var state: String?

    @Argument(help: "Where to write the copy (replaced if it exists).")
    var file: String

    func run() throws {
        let source = try state ?? options.loadConfiguration().daemon.statePath
        let summary: SQLiteBackup.Summary
        do {
            summary = try SQLiteBackup.copy(from: source, to: file)
        } catch let error as SQLiteError {
            throw CleanExit.failure(error.description)
        }
        if options.json { return try options.printJSON(BackupReport(source: source, file: file, summary: summary)) }
        print("backed up \(source) to \(file): \(summary.bytes) bytes, \(summary.locksInForce) locks in force, counters of \(summary.accountsWithCounters) accounts")
    }
}

private struct BackupReport: Encodable {
    var source: String
    var file: String
    var bytes: Int
    var locksInForce: Int
    var accountsWithCounters: Int
    init(source: String, file: String, summary: SQLiteBackup.Summary) {
        self.source = source
        self.file = file
        bytes = summary.bytes
        locksInForce = summary.locksInForce
        accountsWithCounters = summary.accountsWithCounters
    }
}
