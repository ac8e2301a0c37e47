import ArgumentParser
import Foundation
import VigieControl
import VigieCore
#if canImport(Glibc)
import Glibc
#endif

/// hold / release / purge: run postsuper on the queue ids recorded for an account's
/// latest lock. Nothing is ever deleted automatically; purge is this explicit command.
enum QueueAction: String {
    case hold, release, purge

    /// What the control protocol records for it.
    var protocolAction: ControlRequest.QueueAction {
        switch self {
        case .hold: .hold
        case .release: .release
        case .purge: .purge
        }
    }

    var postsuperFlag: String {
        switch self {
        case .hold: "-h"
        case .release: "-H"
        case .purge: "-d"
        }
    }

    func run(options: GlobalOptions, account: String) throws {
        guard geteuid() == 0 else {
            throw CleanExit.failure("\(rawValue) runs postsuper, which needs root: run it with sudo")
        }
        let report = try options.send(.show(account: account)) { if case .report(let report) = $0 { report } else { nil } }
        guard let latest = report.evidence.map(\.lockID).max() else {
            throw CleanExit.failure("no queue ids are recorded for \(report.account)")
        }
        let ids = report.evidence.filter { $0.lockID == latest }.map(\.queueID)
        let configuration = try? options.loadConfiguration()
        let postsuper = configuration?.postfix.postsuper ?? "/usr/sbin/postsuper"
        var arguments: [String] = []
        if let directory = configuration?.postfix.configDirectory { arguments += ["-c", directory] }
        arguments += [postsuperFlag, "-"]

        let process = Process()
        process.executableURL = URL(fileURLWithPath: postsuper)
        process.arguments = arguments
        let input = Pipe()
        let messages = Pipe()
        process.standardInput = input
        process.standardError = messages
        try process.run()
        input.fileHandleForWriting.write(Data(ids.joined(separator: "\n").appending("\n").utf8))
        try input.fileHandleForWriting.close()
        // postsuper writes one line per queue id, then a summary: keep the summary,
        // and everything when it fails.
        let said = String(decoding: messages.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            FileHandle.standardError.write(Data(said.utf8))
            throw CleanExit.failure("postsuper \(arguments.joined(separator: " ")) exited with status \(process.terminationStatus)")
        }
        let summary = said.split(separator: "\n").last { !$0.contains(": placed on hold") && !$0.contains(": released")
            && !$0.contains(": removed") }
        _ = try options.send(.recordQueueAction(account: report.account, action: protocolAction,
                                                queueIDs: ids,
                                                reason: "\(rawValue) of \(ids.count) queue ids: \(ids.joined(separator: " "))"))
        if options.json { return try options.printJSON(["action": rawValue, "queueIDs": ids.joined(separator: " ")]) }
        print("\(rawValue): \(ids.count) queue id(s) of lock \(latest) for \(report.account): \(ids.joined(separator: " "))")
        if let summary { print(summary) }
    }
}

struct Hold: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Put the mail recorded for an account's latest lock on hold (postsuper -h).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account (Unix login).") var account: String
    func run() throws { try QueueAction.hold.run(options: options, account: account) }
}

struct Release: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Release the held mail recorded for an account's latest lock (postsuper -H).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account (Unix login).") var account: String
    func run() throws { try QueueAction.release.run(options: options, account: account) }
}

struct Purge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete the mail recorded for an account's latest lock (postsuper -d).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account (Unix login).") var account: String
    func run() throws { try QueueAction.purge.run(options: options, account: account) }
}
