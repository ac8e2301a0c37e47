import ArgumentParser
import Foundation
import VigieConfig
import VigieCore
import VigieRedis
import VigieStore

/// `vigiectl store`: moving Vigie's state between stores.
struct Store: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move Vigie's state between stores.",
        subcommands: [StoreMigrate.self])
}

/// `vigiectl store migrate --to redis`: copies the SQLite state file into the Redis
/// store the configuration's `[store]` names, so a host can switch to `backend =
/// "redis"` with its locks, audit trail, evidence, counters and histories.
///
/// Like `backup`, vigiectl opens both stores itself rather than asking the daemon:
/// the point is to run it while vigie is stopped. The SQLite file is opened
/// read-only and read in one snapshot; Redis is written through `RedisStateStore`,
/// the daemon's own code, so the keys are exactly what the daemon writes.
///
/// Running it twice: without `--force` the second run refuses (the prefix holds
/// state). With `--force` it first deletes what a migration writes under the prefix,
/// then copies again, with the same lock ids (SQLite's, kept): nothing is doubled,
/// and a copy that failed half-way is repaired by running it again.
struct StoreMigrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy the SQLite state (locks, audit trail, evidence, counters, histories) into Redis.",
        discussion: """
            Reads [store] redis_url, redis_password_file, redis_key_prefix and redis_timeout from the configuration even while backend is still "sqlite". Order: stop vigie (messages counted while it runs are not copied), run this, set backend = "redis" in [store], start vigie. Postfix's side does not change.

            Refuses when Redis already holds Vigie state under the prefix, saying what it found; --force deletes the locks, audit trails, evidence and snapshots there first (not the shared counts), so running it again copies everything once. Lock ids are kept.
            """)

    enum Destination: String, ExpressibleByArgument, CaseIterable {
        case redis
    }

    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: "The store to copy into (only redis).")
    var to: Destination

    @Option(name: .long, help: ArgumentHelp("SQLite state file to copy (default: daemon.state_path from the configuration).", valueName: "sqlite-path"))
    var from: String?

    @Flag(name: .long, help: "Replace the Vigie state already under the Redis key prefix.")
    var force = false

    @Flag(name: .long, help: "Print what would be copied and write nothing.")
    var dryRun = false

    func run() throws {
        let configuration = try options.loadConfiguration()
        let statePath = from ?? configuration.daemon.statePath
        let settings = configuration.store
        guard let server = settings.redisServer else {
            throw CleanExit.failure("\(options.config) has no [store] redis_url; set it (and redis_password_file) first, backend may stay \"sqlite\" until the copy is done")
        }
        guard FileManager.default.fileExists(atPath: statePath) else {
            throw CleanExit.failure("cannot read \(statePath): no such file; is daemon.state_path right in the configuration (or --from)?")
        }

        let source: SQLiteStateStore
        let destination: RedisStateStore
        do {
            source = try SQLiteStateStore(readingOnly: statePath)
            destination = try RedisStateStore(options: Self.connectionOptions(settings, server), keyPrefix: settings.redisKeyPrefix)
        } catch {
            throw CleanExit.failure("\(error)")
        }
        let where_ = "\(destination.server) db \(server.database) prefix \(settings.redisKeyPrefix)"

        let report: MigrationReport
        do {
            let found = try destination.inventory()
            if !found.isEmpty && !force && !dryRun {
                throw CleanExit.failure("\(where_) already holds Vigie state (\(found.description)); nothing copied. Give --force to replace it, or another redis_key_prefix")
            }
            if dryRun {
                let summary = try source.readingOneSnapshot { try StateStoreCopy.copy(from: source, to: nil) }
                report = MigrationReport(source: statePath, destination: where_, dryRun: true, found: found, summary: summary)
            } else {
                if !found.isEmpty { try destination.removeState() }
                var highestID: Int64 = 0
                let summary = try source.readingOneSnapshot {
                    try StateStoreCopy.copy(from: source, to: destination) { id in
                        highestID = max(highestID, id)
                        try destination.prepareLockID(id)
                    }
                }
                if highestID > 0 { try destination.finishLockIDs(highest: highestID) }
                report = MigrationReport(source: statePath, destination: where_, dryRun: false, found: found, summary: summary)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw CleanExit.failure("\(error)")
        }
        if options.json { return try options.printJSON(report) }
        print(report.text)
    }

    /// The daemon's mapping of `[store]` to a connection (VigieDaemon's
    /// `StoreComposition.redisOptions`), which vigiectl does not link.
    static func connectionOptions(_ settings: StoreSettings, _ server: StoreSettings.RedisServer) throws -> RedisConnectionOptions {
        let endpoint: RedisEndpoint = switch server.address {
        case .unix(let path): .unix(path: path)
        case .tcp(let host, let port): .tcp(host: host, port: port)
        }
        let password = try settings.redisPasswordFile.map { path throws(RedisError) in try RedisPasswordFile.read(path: path) }
        return RedisConnectionOptions(endpoint: endpoint, database: server.database, password: password, timeout: settings.redisTimeout)
    }
}

private struct MigrationReport: Encodable {
    var source: String
    var destination: String
    var dryRun: Bool
    /// What the prefix held before (deleted first when it was not empty).
    var found: RedisStateStore.Inventory
    var summary: StateStoreCopy.Summary

    var text: String {
        let copied = "\(summary.accounts) accounts with records: \(summary.locksInForce) locks in force, \(summary.locksEnded) ended locks, \(summary.auditLines) audit lines, \(summary.evidence) queue ids of evidence; counters of \(summary.counters) accounts, sending histories of \(summary.histories)"
        if dryRun {
            let there = found.isEmpty ? "it is empty" : "it already holds \(found.description) (--force would replace it)"
            return "dry run, nothing written: would copy \(source) to \(destination), where \(there): \(copied)"
        }
        let replaced = found.isEmpty ? "" : " (replacing \(found.description))"
        return "copied \(source) to \(destination)\(replaced): \(copied)\nnext: set backend = \"redis\" in [store], then start vigie"
    }
}
