import ArgumentParser

/// `vigiectl`: see, lock and unlock accounts of the running daemon.
@main
struct VigieCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigiectl",
        abstract: "See, lock and unlock the accounts Vigie limits.",
        discussion: "Talks to the running vigie daemon over its control socket. Allowed to root and to daemon.admin_group.",
        subcommands: [Status.self, List.self, Show.self, Lock.self, Unlock.self, Reset.self, Reload.self,
                      Hold.self, Release.self, Purge.self, Explain.self, Trust.self, Backup.self, Store.self, SRS.self, Check.self, DKIM.self]
    )
}
