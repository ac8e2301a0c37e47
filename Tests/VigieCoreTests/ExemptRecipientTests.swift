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
}
