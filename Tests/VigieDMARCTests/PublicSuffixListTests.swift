import Foundation
import Testing
import VigieTestKit
@testable import VigieDMARC

@Suite struct PublicSuffixListTests {
    static let sample = """
    // ===BEGIN ICANN DOMAINS===
    com
    uk
    co.uk
    // wildcard and exception, as the list has for .ck
    *.ck
    !www.ck
    cn
    公司.cn
    // ===END ICANN DOMAINS===
    // ===BEGIN PRIVATE DOMAINS===
    github.io
    // ===END PRIVATE DOMAINS===
    """

    @Test func organisationalDomains() throws {
        let list = try PublicSuffixList(parsing: Self.sample)
        #expect(list.icannRules == 7)
        #expect(list.privateRules == 1)
        let cases: [(String, String)] = [
            ("example.com", "example.com"),
            ("mail.example.com", "example.com"),
            ("a.b.c.example.co.uk", "example.co.uk"),
            ("example.uk", "example.uk"),
            ("foo.example.ck", "foo.example.ck"),  // *.ck: example.ck is a public suffix
            ("www.ck", "www.ck"),                  // !www.ck: ck is the suffix
            ("mail.www.ck", "www.ck"),
            ("alice.github.io", "alice.github.io"), // private section used
            ("mail.alice.github.io", "alice.github.io"),
            ("example.test", "example.test"),       // no rule: the default "*"
            ("a.b.example.test", "example.test"),
            ("com", "com"),                         // a public suffix is its own
            ("co.uk", "co.uk"),
            ("shop.xn--55qx5d.cn", "shop.xn--55qx5d.cn"), // 公司.cn, as an A-label
        ]
        for (name, expected) in cases {
            #expect(list.organisationalDomain(of: name) == expected, "\(name)")
        }
    }

    @Test func emptyListIsRefused() {
        #expect(throws: PublicSuffixList.ParseError.self) { try PublicSuffixList(parsing: "// only a comment\n\n") }
    }

    @Test("Debian's list (package publicsuffix) parses, both sections")
    func debianList() throws {
        let path = "/usr/share/publicsuffix/public_suffix_list.dat"
        let text = try #require(try? String(contentsOfFile: path, encoding: .utf8),
                                "\(path) missing: install Debian's publicsuffix package (scripts/install-deps)")
        let list = try PublicSuffixList(parsing: text)
        #expect(list.icannRules > 5000)
        #expect(list.privateRules > 1000)
        #expect(list.organisationalDomain(of: "mail.example.co.uk") == "example.co.uk")
        #expect(list.organisationalDomain(of: "a.b.example.com") == "example.com")
        #expect(list.organisationalDomain(of: "alice.github.io") == "alice.github.io")
        #expect(list.organisationalDomain(of: "lists.example.fr") == "example.fr")
        #expect(list.organisationalDomain(of: "mail.example.test") == "example.test")
    }

    @Test func punycode() {
        #expect(DomainName.normalized("Bücher.Example") == "xn--bcher-kva.example")
        #expect(DomainName.normalized("MÜNCHEN.de.") == "xn--mnchen-3ya.de")
        #expect(DomainName.normalized("公司.cn") == "xn--55qx5d.cn")
        #expect(DomainName.normalized("ドメイン名例.jp") == "xn--eckwd4c7cu47r2wf.jp")
    }

    /// The all-ASCII path (one pass over the bytes) gives what normalising label by
    /// label (`aLabel`) gives, for names made of every kind of piece.
    @Test func asciiNamesNormaliseAsLabelByLabel() {
        func labelByLabel(_ text: String) -> String? {
            var name = Substring(text)
            if name.hasSuffix(".") { name = name.dropLast() }
            guard !name.isEmpty else { return nil }
            var labels: [String] = []
            for label in name.split(separator: ".", omittingEmptySubsequences: false) {
                guard let normalized = DomainName.aLabel(label) else { return nil }
                labels.append(normalized)
            }
            let joined = labels.joined(separator: ".")
            return joined.utf8.count <= 253 ? joined : nil
        }
        let pieces = ["a", "Z", "_mail", "x-1", ".", "..", " ", "@", "[1]", String(repeating: "q", count: 63),
                      String(repeating: "q", count: 64), "", "\u{0}", "~"]
        for name in domainNameCombinations(pieces: pieces, suffixes: ["", ".", "Example", "org."]) {
            #expect(DomainName.normalized(name) == labelByLabel(name), "\(name.debugDescription)")
        }
    }

    @Test func namesThatCannotBeDomains() {
        for text in ["", ".", "a..b", "[192.0.2.1]", "a b.com", "exa\u{0}mple.com", String(repeating: "a", count: 64) + ".com",
                     Array(repeating: "abcdefghi", count: 26).joined(separator: ".")] {
            #expect(DomainName.normalized(text) == nil, "\(text.debugDescription)")
        }
        #expect(DomainName.normalized("_Mail-1.Example.ORG") == "_mail-1.example.org")
    }
}
