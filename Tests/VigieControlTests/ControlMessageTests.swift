import Foundation
import Testing
import VigieControl
import VigieCore

/// The control protocol as typed messages with a version (issue 14 item 6).
@Suite struct ControlMessageTests {
    static let requests: [ControlRequest] = [
        .status, .reload, .list(top: 7), .show(account: "alice"), .lock(account: "bob", reason: "password leaked"),
        .unlock(account: "bob", reason: "new password"), .reset(account: "carol", reason: nil),
        .reset(account: "carol", reason: "cron job fixed"),
        .recordQueueAction(account: "dave", action: .purge, queueIDs: ["4Xb2Lq1zTmz9", "4Xb2Lq1zTmzA"], reason: nil),
        .explain(account: "erin"), .trust(account: "erin", network: "198.51.100.0/24", reason: "new office"),
    ]

    @Test(arguments: requests)
    func everyRequestSurvivesTheWire(_ request: ControlRequest) throws {
        let bytes = try JSONEncoder().encode(request)
        #expect(!bytes.contains(0x0A), "one line per message")
        #expect(try JSONDecoder().decode(ControlRequest.self, from: bytes) == request)
        let object = try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
        #expect(object["version"] as? Int == ControlProtocol.version)
        #expect(object["command"] as? String == request.command)
    }

    @Test func aRequestMissingWhatItsCommandNeedsIsNotARequest() {
        for text in [#"{"version":1,"command":"lock","account":"bob"}"#,       // no reason
                     #"{"version":1,"command":"show"}"#,                       // no account
                     #"{"version":1,"command":"trust","account":"e","reason":"r"}"#,  // no network
                     #"{"version":1,"command":"record-queue-action","account":"d","queueAction":"delete","queueIDs":[]}"#,
                     #"{"version":1,"command":"format-disk"}"#] {
            #expect(throws: DecodingError.self, "\(text)") { try JSONDecoder().decode(ControlRequest.self, from: Data(text.utf8)) }
        }
    }

    @Test func anotherVersionIsToldApartFromAMalformedRequest() throws {
        for (text, version) in [(#"{"version":2,"command":"status"}"#, 2 as Int?), (#"{"command":"status"}"#, nil)] {
            do {
                _ = try JSONDecoder().decode(ControlRequest.self, from: Data(text.utf8))
                Issue.record("\(text) was accepted")
            } catch let error as ControlProtocol.UnsupportedVersion {
                #expect(error.version == version)
                #expect("\(error)".contains("this side speaks version \(ControlProtocol.version)"), "\(error)")
            }
        }
    }

    @Test func answersSurviveTheWire() throws {
        let lock = AccountLock(account: AccountName(normalized: "bob"), lockedAt: UnixTime(seconds: 1_770_000_000),
                               actor: "marie", reason: "password leaked")
        let answers: [ControlResponse] = [.failure("bob is not locked"), .list(locks: [lock], topSenders: []),
                                          .lockChanged(lock, message: "bob locked"), .done("reloaded")]
        for answer in answers {
            let bytes = try JSONEncoder().encode(answer)
            #expect(try JSONDecoder().decode(ControlResponse.self, from: bytes) == answer)
        }
        #expect(ControlResponse.done("x").line == "x")
        #expect(ControlResponse.failure("x").line == nil)
    }
}
