import Testing
import VigieCore
import VigieTestKit

@Suite("Exempt recipients")
struct ExemptRecipientTests {
    /// Random texts built of `pieces` must be exempt exactly when the plain
    /// definition (strip, lower-case, whole address or local part in the set) says so.
    private func agreesWithTheDefinition(_ exempt: Set<String>, pieces: [String], longest: Int, seed: UInt64) -> Exemptions {
        let exemptions = Exemptions(recipients: exempt)
        let lowered = Set(exempt.map { $0.lowercased() })
        func reference(_ raw: String) -> Bool {
            let address = EnvelopeAddress.strip(raw).lowercased()
            if lowered.contains(address) { return true }
            guard let at = address.lastIndex(of: "@") else { return false }
            return lowered.contains(String(address[..<at]))
        }
        var random = SeededRandom(seed: seed)
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 0...longest, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            #expect(exemptions.isExempt(recipient: text) == reference(text), "\(text.debugDescription)")
        }
        return exemptions
    }

    /// The length shortcut must never turn away an address the definition exempts.
    @Test func shortcutAgreesWithTheDefinition() {
        let exemptions = agreesWithTheDefinition(
            ["postmaster", "abuse", "Root@Example.org", "évé", "İx"],
            pieces: ["postmaster", "POSTMASTER", "abuse", "root", "ROOT", "@", "example.org", "Example.ORG", "x",
                     "évé", "ÉVÉ", "i̇x", "İx", "<", ">", " ", "a"],
            longest: 4, seed: 12)
        #expect(exemptions.isExempt(recipient: "<PostMaster@vigie.test>"))
        #expect(exemptions.isExempt(recipient: "root@example.ORG"))
        #expect(!exemptions.isExempt(recipient: "root@other.example"))
    }

    /// An ASCII set takes the byte path (stripped in place, compared without
    /// lower-casing): it must agree with the same definition, blanks and brackets
    /// anywhere included, and hand non-ASCII addresses to the general case.
    @Test func bytePathAgreesWithTheDefinition() {
        let exemptions = agreesWithTheDefinition(
            ["postmaster", "abuse", "Root@Example.org"],
            pieces: ["postmaster", "PostMaster", "abuse", "root", "@", "example.org", "EXAMPLE.org", "x", "é",
                     "<", ">", " ", "\t", "<<", ">>"],
            longest: 5, seed: 13)
        #expect(exemptions.isExempt(recipient: " <PostMaster@vigie.test> "))
        #expect(exemptions.isExempt(recipient: "\t<root@EXAMPLE.org>"))
        #expect(!exemptions.isExempt(recipient: "<<postmaster>>"))
        #expect(exemptions.isExempt(recipient: "<postmaster@x"))
    }
}
