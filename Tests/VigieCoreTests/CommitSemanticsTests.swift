import Testing
import VigieCore

/// `check` decides, `commit` decides and counts: mail that ends up refused (by a
/// limit, by another milter, or because the client gave up) is never counted.
@Suite("Check and commit")
struct CommitSemanticsTests {
    static let threePerHour = PolicySettings.only(.numbers(messages: [.hour: 3], recipients: [.hour: 100]))

    @Test func checkNeverCounts() throws {
        let h = Harness(Self.threePerHour)
        for _ in 0..<50 {
            #expect(h.policy.check(account: .alice, recipients: 10, countsAsRefusal: true) == .accept)
        }
        #expect(try h.used(.alice, .messages, .hour) == 0)
        #expect(try h.used(.alice, .recipients, .hour) == 0)
        // All three messages of the hour are still available.
        for index in 0..<3 {
            #expect(h.policy.commit(account: .alice, recipients: 10, queueID: "Q\(index)") == .accept)
        }
        #expect(h.policy.commit(account: .alice, recipients: 1, queueID: "Q3").breach != nil)
    }

    @Test func commitCountsAcceptedMessagesOnly() throws {
        let h = Harness(Self.threePerHour)
        for index in 0..<3 {
            #expect(h.policy.commit(account: .alice, recipients: 20, queueID: "Q\(index)") == .accept)
        }
        #expect(try h.used(.alice, .messages, .hour) == 3)
        #expect(try h.used(.alice, .recipients, .hour) == 60)

        // Refused at end of message: nothing counted.
        for index in 3..<8 {
            #expect(h.policy.commit(account: .alice, recipients: 20, queueID: "Q\(index)").breach != nil)
        }
        #expect(try h.used(.alice, .messages, .hour) == 3)
        #expect(try h.used(.alice, .recipients, .hour) == 60)
        // A recipient-cap refusal counts nothing either.
        let capped = Harness(.only(.numbers(recipients: [.hour: 100], perMessage: 5)))
        #expect(capped.policy.commit(account: .alice, recipients: 6, queueID: "C1").breach != nil)
        #expect(try capped.used(.alice, .recipients, .hour) == 0)
    }

    @Test func refusalsCountOnlyWhenAsked() throws {
        let h = Harness(.only(.numbers(messages: [.hour: 1])))
        #expect(h.send(.alice, queueID: "Q1") == .accept)

        // One message refused at each of its recipients is one attempt.
        #expect(h.policy.check(account: .alice, recipients: 1, countsAsRefusal: true).breach != nil)
        for recipients in 2...5 {
            #expect(h.policy.check(account: .alice, recipients: recipients, countsAsRefusal: false).breach != nil)
        }
        #expect(try h.policy.report(account: .alice).refusalsInARow == 1)

        #expect(h.policy.commit(account: .alice, recipients: 1, queueID: "Q2", countsAsRefusal: false).breach != nil)
        #expect(try h.policy.report(account: .alice).refusalsInARow == 1)
        #expect(h.policy.commit(account: .alice, recipients: 1, queueID: "Q3").breach != nil)
        #expect(try h.policy.report(account: .alice).refusalsInARow == 2)
    }

    @Test func refusalsStartAgainAfterAnAcceptedMessage() throws {
        let h = Harness(.only(.numbers(messages: [.minute: 1])))
        #expect(h.send(.alice, queueID: "Q1") == .accept)
        for index in 0..<5 {
            #expect(h.send(.alice, queueID: "R\(index)").breach != nil)
        }
        #expect(try h.policy.report(account: .alice).refusalsInARow == 5)

        h.clock.advance(by: .seconds(120))
        // Accepted at RCPT TO only: the message is not sent yet, the run goes on.
        #expect(h.policy.check(account: .alice, recipients: 1, countsAsRefusal: true) == .accept)
        #expect(try h.policy.report(account: .alice).refusalsInARow == 5)
        // Accepted at end of message: the run is over.
        #expect(h.policy.commit(account: .alice, recipients: 1, queueID: "Q2") == .accept)
        #expect(try h.policy.report(account: .alice).refusalsInARow == 0)
    }

    @Test func aCommitWithoutQueueIDStillCounts() throws {
        let h = Harness(Self.threePerHour)
        #expect(h.policy.commit(account: .alice, recipients: 2, queueID: nil) == .accept)
        #expect(try h.used(.alice, .messages, .hour) == 1)
    }
}
