import Foundation
import Testing
@testable import VigieDNS

/// Which answers the resolver takes (RFC 5452): only the queried server's address
/// and port, the query's id and question; everything else is ignored while it
/// waits for the real one. Timeouts here are generous: the assertions are about
/// which answer came back, never about how long it took.
@Suite struct ResolverAcceptanceTests {
    static let real: [UInt8] = [192, 0, 2, 1]
    static let forged: [UInt8] = [203, 0, 113, 66]

    static func resolver(_ server: ScriptedNameserver, timeout: Duration = .seconds(5)) -> DNSResolver {
        DNSResolver(configuration: .init(nameservers: [server.address], attemptTimeout: timeout, lookupTimeout: timeout,
                                         attempts: 1, cacheCapacity: 1))
    }

    /// A wrong id, a wrong question (name, then type), a spoof from another port:
    /// all ignored, and the real answer sent last is the one used.
    @Test func forgedAnswersAreIgnoredUntilTheRealOne() throws {
        let server = try ScriptedNameserver { query in
            let otherName = DNSMessage.query(id: UInt16(query.bytes[0]) << 8 | UInt16(query.bytes[1]), name: "other.test", type: .a)
            let otherType = DNSMessage.query(id: UInt16(query.bytes[0]) << 8 | UInt16(query.bytes[1]), name: "victim.test", type: .aaaa)
            return [
                .reply(ScriptedNameserver.withOtherID(ScriptedNameserver.answer(to: query.bytes, addresses: [Self.forged]))),
                .reply(ScriptedNameserver.answer(to: otherName, addresses: [Self.forged])),
                .reply(ScriptedNameserver.answer(to: otherType, addresses: [Self.forged])),
                .replyFromOtherPort(ScriptedNameserver.answer(to: query.bytes, addresses: [Self.forged])),
                .reply(Array(query.bytes.prefix(12))),  // a header with no question
                .reply(ScriptedNameserver.answer(to: query.bytes, addresses: [Self.real])),
            ]
        }
        let result = Self.resolver(server).lookup("victim.test", .a)
        guard case .success(let answer) = result else { Issue.record("\(result)"); return }
        #expect(answer.records.map(\.data) == [.ipv4(Self.real)])
    }

    /// The same forgeries with no real answer after them: the lookup times out
    /// (temperror for SPF and DKIM); none of them is taken as an answer.
    @Test func onlyForgedAnswersEndInATimeout() throws {
        let server = try ScriptedNameserver { query in
            [.reply(ScriptedNameserver.withOtherID(ScriptedNameserver.answer(to: query.bytes, addresses: [Self.forged]))),
             .replyFromOtherPort(ScriptedNameserver.answer(to: query.bytes, addresses: [Self.forged]))]
        }
        let result = Self.resolver(server, timeout: .milliseconds(400)).lookup("victim.test", .a)
        guard case .failure(.timedOut) = result else { Issue.record("\(result)"); return }
        #expect(server.queries.count == 1)
    }

    /// The question is compared as wire bytes, case-insensitively: an answer whose
    /// question is one label "victim.test" (a dot inside the label) is not ours.
    @Test func aDotInsideALabelIsAnotherQuestion() throws {
        let server = try ScriptedNameserver { query in
            var forged = Array(query.bytes[0..<12]) + [11] + Array("victim.test".utf8) + [0, 0, 1, 0, 1]
            forged[2] |= 0x80
            return [.reply(forged + [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4] + Self.forged)]
        }
        let result = Self.resolver(server, timeout: .milliseconds(400)).lookup("VICTIM.test", .a)
        guard case .failure(.timedOut) = result else { Issue.record("\(result)"); return }
    }

    /// Every query has its own id and source port, drawn at random: 24 queries
    /// with fewer than 20 distinct values would be a generator that repeats.
    @Test func idsAndSourcePortsChangeWithEveryQuery() throws {
        let server = try ScriptedNameserver { query in [.reply(ScriptedNameserver.answer(to: query.bytes, addresses: [Self.real]))] }
        let resolver = Self.resolver(server)
        for i in 0..<24 {
            guard case .success = resolver.lookup("host\(i).test", .a) else { Issue.record("lookup \(i) failed"); return }
        }
        let queries = server.queries
        #expect(queries.count == 24)
        #expect(Set(queries.map { UInt16($0.bytes[0]) << 8 | UInt16($0.bytes[1]) }).count >= 20)
        #expect(Set(queries.map(\.sourcePort)).count >= 20)
        #expect(queries.allSatisfy { $0.sourcePort >= 1024 })
    }

    /// TC set: the question is asked again over TCP and that answer is used.
    @Test func aTruncatedAnswerIsAskedAgainOverTCP() throws {
        let server = try ScriptedNameserver(tcp: { query in
            .reply(ScriptedNameserver.answer(to: query.bytes, addresses: [Self.real, [192, 0, 2, 2]]))
        }) { query in [.reply(ScriptedNameserver.answer(to: query.bytes, addresses: [], flags: 0x0200))] }
        let result = Self.resolver(server).lookup("big.test", .a)
        guard case .success(let answer) = result else { Issue.record("\(result)"); return }
        #expect(answer.records.map(\.data) == [.ipv4(Self.real), .ipv4([192, 0, 2, 2])])
    }

    /// TC set and TCP refused: the lookup fails (temperror). The truncated answer
    /// holds no record, and taking it would turn "could not tell" into "none".
    @Test func aFailedTCPRetryIsAFailureNotNoRecord() throws {
        let server = try ScriptedNameserver { query in
            [.reply(ScriptedNameserver.answer(to: query.bytes, addresses: [], flags: 0x0200))]
        }
        let result = Self.resolver(server, timeout: .seconds(2)).lookup("big.test", .a)
        // Nothing listens on the port over TCP: connection refused.
        guard case .failure(.network) = result else { Issue.record("\(result)"); return }
    }

    /// Over TCP: an answer longer than the cap, or with another id, is refused.
    @Test(arguments: [0, 1])
    func oversizedOrForeignTCPAnswersAreRefused(variant: Int) throws {
        let server = try ScriptedNameserver(tcp: { query in
            let answer = ScriptedNameserver.answer(to: query.bytes, addresses: [Self.forged])
            return variant == 0 ? .reply(answer + [UInt8](repeating: 0, count: DNSTransport.maximumTCPAnswerBytes))
                                : .reply(ScriptedNameserver.withOtherID(answer))
        }) { query in [.reply(ScriptedNameserver.answer(to: query.bytes, addresses: [], flags: 0x0200))] }
        let result = Self.resolver(server, timeout: .seconds(2)).lookup("big.test", .a)
        guard case .failure(.malformedResponse) = result else { Issue.record("\(result)"); return }
    }
}
