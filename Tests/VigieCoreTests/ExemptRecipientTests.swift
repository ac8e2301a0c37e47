import Testing
import VigieCore
import VigieTestKit

@Suite("Exempt recipients")
struct ExemptRecipientTests {
    /// The length shortcut must never turn away an address the plain definition
    /// (strip, lower-case, whole address or local part in the set) exempts.
    @Test func shortcutAgreesWithTheDefinition() {
        let exempt: Set<String> = ["postmaster", "abuse", "Root@Example.org", "évé", "İx"]
        let exemptions = Exemptions(recipients: exempt)
        let lowered = Set(exempt.map { $0.lowercased() })
        func reference(_ raw: String) -> Bool {
            let address = EnvelopeAddress.strip(raw).lowercased()
            if lowered.contains(address) { return true }
            guard let at = address.lastIndex(of: "@") else { return false }
            return lowered.contains(String(address[..<at]))
        }
        let pieces = ["postmaster", "POSTMASTER", "abuse", "root", "ROOT", "@", "example.org", "Example.ORG", "x",
                      "évé", "ÉVÉ", "i̇x", "İx", "<", ">", " ", "a"]
        var random = SeededRandom(seed: 12)
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 0...4, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            #expect(exemptions.isExempt(recipient: text) == reference(text), "\(text.debugDescription)")
        }
        #expect(exemptions.isExempt(recipient: "<PostMaster@vigie.test>"))
        #expect(exemptions.isExempt(recipient: "root@example.ORG"))
        #expect(!exemptions.isExempt(recipient: "root@other.example"))
    }

    /// An ASCII set takes the byte path (stripped in place, compared without
    /// lower-casing): it must agree with the same definition, blanks and brackets
    /// anywhere included, and hand non-ASCII addresses to the general case.
    @Test func bytePathAgreesWithTheDefinition() {
        let exempt: Set<String> = ["postmaster", "abuse", "Root@Example.org"]
        let exemptions = Exemptions(recipients: exempt)
        let lowered = Set(exempt.map { $0.lowercased() })
        func reference(_ raw: String) -> Bool {
            let address = EnvelopeAddress.strip(raw).lowercased()
            if lowered.contains(address) { return true }
            guard let at = address.lastIndex(of: "@") else { return false }
            return lowered.contains(String(address[..<at]))
        }
        let pieces = ["postmaster", "PostMaster", "abuse", "root", "@", "example.org", "EXAMPLE.org", "x", "é",
                      "<", ">", " ", "\t", "<<", ">>"]
        var random = SeededRandom(seed: 13)
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 0...5, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            #expect(exemptions.isExempt(recipient: text) == reference(text), "\(text.debugDescription)")
        }
        #expect(exemptions.isExempt(recipient: " <PostMaster@vigie.test> "))
        #expect(exemptions.isExempt(recipient: "\t<root@EXAMPLE.org>"))
        #expect(!exemptions.isExempt(recipient: "<<postmaster>>"))
        #expect(exemptions.isExempt(recipient: "<postmaster@x"))
    }
}
