import Foundation
@testable import VigieCore
@testable import VigieConfig

/// Notice templates (Sources/VigieConfig/NoticeTemplates+Loading.swift) and their
/// rendering into SMTP replies (Sources/VigieCore/NoticeRenderer.swift): the files
/// are translated by hand, and the values filled in (account, lock reason) come from
/// members and admins.
///
/// Properties: a template file loads or is refused with an error on one of its
/// lines; a loaded one renders every notice as a reply of 1...8 lines (32 at most
/// for libmilter) with no CR, LF or NUL, no placeholder left unfilled, and the code
/// the reply table gives that refusal.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNoticeTemplate(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let account = input.fieldString()
    let reason = input.fieldString()
    let bytes = input.rest()
    let templates: NoticeTemplates
    do {
        templates = try NoticeTemplates(parsing: TOMLDocument(parsing: bytes, file: "fr.toml"), language: "fr")
    } catch {
        return 0
    }
    let renderer = NoticeRenderer(languages: [templates], contact: "postmaster@example.org", timeZone: TimeZone(identifier: "UTC")!)
    let name = AccountName(normalized: account.isEmpty ? "alice" : account)
    let now = UnixTime(seconds: 1_700_000_000)
    let lock = AccountLock(account: name, lockedAt: UnixTime(seconds: 1_699_990_000), actor: "burst", reason: reason)
    let verdicts: [Verdict] = [
        .overLimit(LimitBreach(kind: .window(.messages, .hour), limit: 100, count: 101, retryAt: UnixTime(seconds: 1_700_000_600))),
        .overLimit(LimitBreach(kind: .window(.recipients, .day), limit: 500, count: 530, retryAt: nil)),
        .overLimit(LimitBreach(kind: .recipientsPerMessage, limit: 50, count: 51, retryAt: nil)),
        .locked(lock),
    ]
    let placeholders = NoticeTemplates.placeholders.map { "{\($0)}" }
    for verdict in verdicts {
        for path in [SubmissionPath.smtp, .local] {
            guard let reply = renderer.reply(for: verdict, account: name, path: path, now: now) else {
                fatalError("no reply for \(verdict)")
            }
            require((1...32).contains(reply.lines.count), "\(reply.lines.count) lines")
            for line in reply.lines {
                require(!line.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }), "line break in \(line.debugDescription)")
                if !account.contains("{") && !reason.contains("{") {
                    require(!placeholders.contains(where: line.contains), "placeholder left in \(line.debugDescription)")
                }
            }
            require(reply.code.first == "4" || reply.code.first == "5", "reply code \(reply.code)")
        }
    }
    return 0
}
