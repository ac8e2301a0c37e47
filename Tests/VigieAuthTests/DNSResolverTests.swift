import Foundation
import Testing
import VigieTestKit
@testable import VigieDNS

@Suite struct DNSResolverTests {
    @Test func answersNXDomainNoDataAndCache() throws {
        let resolver = try TestNameserver.resolver()
        guard case .success(let a) = resolver.lookup("a.spf.test", .a) else { Issue.record("A failed"); return }
        #expect(a.records.map(\.data) == [.ipv4([192, 0, 2, 20])])
        guard case .success(let txt) = resolver.lookup("A.SPF.TEST.", .txt) else { Issue.record("TXT failed"); return }
        #expect(txt.records.map(\.data) == [.text([Array("v=spf1 a -all".utf8)])])
        guard case .success(let nx) = resolver.lookup("nothing.spf.test", .txt) else { Issue.record("NX failed"); return }
        #expect(nx.status == .nameDoesNotExist)
        guard case .success(let nodata) = resolver.lookup("a.spf.test", .mx) else { Issue.record("NODATA failed"); return }
        #expect(nodata.status == .noData)
        let hits = resolver.statistics.cacheHits.load(ordering: .relaxed)
        _ = resolver.lookup("a.spf.test", .a)
        #expect(resolver.statistics.cacheHits.load(ordering: .relaxed) == hits + 1)
        // A DKIM key split over several strings comes back whole.
        guard case .success(let key) = resolver.lookup("sel1._domainkey.example.test", .txt),
              case .text(let strings) = key.records.first?.data else { Issue.record("key failed"); return }
        #expect(strings.count > 1)
    }

    @Test func invalidNamesAreRefusedWithoutAQuery() throws {
        let resolver = try TestNameserver.resolver()
        for name in ["", "a..b", "has space.test", String(repeating: "a", count: 64) + ".test", String(repeating: "a.", count: 130)] {
            guard case .failure(.invalidName) = resolver.lookup(name, .txt) else { Issue.record("accepted \(name)"); continue }
        }
        #expect(resolver.statistics.queriesSent.load(ordering: .relaxed) == 0)
    }

    /// `normalizedName` (one pass over the bytes) against its definition: lower case,
    /// one trailing dot dropped, labels of 1...63 printable ASCII bytes but `\`, 253
    /// bytes in all; the name itself when already so.
    @Test func normalizedNamesMatchTheirDefinition() {
        func reference(_ name: String) -> String? {
            var trimmed = Substring(name)
            if trimmed.hasSuffix(".") { trimmed = trimmed.dropLast() }
            guard !trimmed.isEmpty, trimmed.utf8.count <= 253 else { return nil }
            for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
                guard (1...63).contains(label.utf8.count),
                      label.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\\") }) else { return nil }
            }
            return String(decoding: trimmed.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        let pieces = ["a", "B", "_dmarc", "Sel-1", ".", "..", " ", "\\", "é", "\u{7f}", String(repeating: "x", count: 63),
                      String(repeating: "y", count: 64), "", "*", "\u{212A}"]
        for name in domainNameCombinations(pieces: pieces, suffixes: ["", ".", "example", "COM."]) {
            let normalized = try? DNSMessage.normalizedName(name)
            #expect(normalized == reference(name), "\(name.debugDescription)")
        }
    }

    /// The lookup timeout, not the attempts, ends a lookup against a silent server:
    /// 50 attempts of 200 ms would take 10 s, the lookup stops at 500 ms. Checked by
    /// what the resolver did (queries sent) and by bounds a loaded machine keeps (never
    /// early; far below the attempts' 10 s), not by a narrow wall-clock window.
    @Test func deadServerTimesOutOnTime() throws {
        let silent = try SilentNameserver()
        let resolver = DNSResolver(configuration: .init(nameservers: [silent.address], attemptTimeout: .milliseconds(200),
                                                        lookupTimeout: .milliseconds(500), attempts: 50))
        let start = ContinuousClock.now
        guard case .failure(.timedOut) = resolver.lookup("x.test", .a) else { Issue.record("no timeout"); return }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(500), "ended before its lookup timeout: \(elapsed)")
        #expect(elapsed < .seconds(5), "the attempts, not the lookup timeout, ended it: \(elapsed)")
        let sent = resolver.statistics.queriesSent.load(ordering: .relaxed)
        #expect(sent >= 1 && sent <= 3, "500 ms of 200 ms attempts is at most 3 queries, not 50: \(sent)")

        // A thread deadline ends it sooner still: one query, then the deadline.
        let short = ContinuousClock.now
        let result = DNSDeadline.withDeadline(ContinuousClock.now.advanced(by: .milliseconds(100))) { resolver.lookup("y.test", .a) }
        guard case .failure(.timedOut) = result else { Issue.record("no timeout under a deadline: \(result)"); return }
        #expect(ContinuousClock.now - short >= .milliseconds(100))
        // One query: the lookup timeout (500 ms) would have let 3 go out.
        #expect(resolver.statistics.queriesSent.load(ordering: .relaxed) == sent + 1, "more than one query in a 100 ms deadline")
    }

    @Test func secondServerAnswersWhenTheFirstIsDead() throws {
        let silent = try SilentNameserver()
        let resolver = DNSResolver(configuration: .init(nameservers: [silent.address, try TestNameserver.address],
                                                        attemptTimeout: .milliseconds(200)))
        guard case .success(let a) = resolver.lookup("a.spf.test", .a) else { Issue.record("failover failed"); return }
        #expect(a.status == .records)
    }

    @Test func manyThreadsShareOneResolver() throws {
        let resolver = DNSResolver(configuration: .init(nameservers: [try TestNameserver.address], cacheCapacity: 50))
        let failures = Atomic_Counter()
        DispatchQueue.concurrentPerform(iterations: 400) { i in
            let name = ["a.spf.test", "mx.spf.test", "pass.spf.test", "h\(i % 80).nowhere.test"][i % 4]
            if case .failure = resolver.lookup(name, .txt) { failures.increment() }
        }
        #expect(failures.value == 0)
    }

    @Test func nameserverAddresses() {
        #expect(Nameserver.address("127.0.0.1:5353")?.description == "127.0.0.1:5353")
        #expect(Nameserver.address("192.0.2.53")?.port == 53)
        #expect(Nameserver.address("[::1]:53")?.description == "[::1]:53")
        #expect(Nameserver.address("::1")?.port == 53)
        #expect(Nameserver.address("dns.example:53") == nil)
        #expect(Nameserver.address("127.0.0.1:0") == nil)
        #expect(Nameserver.address("127.0.0.1:99999") == nil)
    }
}

enum DNSWireFuzzing {
    static func parse(_ packet: [UInt8]) -> Bool {
        (try? DNSMessage.parse(packet)) != nil
    }
}
