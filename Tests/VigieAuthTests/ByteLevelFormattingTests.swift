// The header formatting and SPF input checks work on UTF-8 bytes for speed; these
// tests hold them to the plain definitions they replaced, written over Unicode
// scalars and Characters, on random text mixing every class of character they treat.

import Testing
import VigieTestKit
@testable import VigieAuth
@testable import VigieSPF

@Suite("Byte-level formatting agrees with the definitions")
struct ByteLevelFormattingTests {
    static let alphabet: [String] = [
        "a", "Z", "0", "9", "-", "_", ".", "@", "(", ")", "\\", "\"", " ", "\t", "\n", "\u{7F}", "\u{1}",
        "<", ">", ",", ";", ":", "/", "[", "]", "?", "=", "!", "#", "~", "é", "ß", "😀", "\u{200B}",
    ]

    static func randomText(_ random: inout SeededRandom, maxLength: Int) -> String {
        let length = Int.random(in: 0...maxLength, using: &random)
        return (0..<length).map { _ in alphabet.randomElement(using: &random)! }.joined()
    }

    @Test func headerValues() {
        var random = SeededRandom(seed: 7)
        for round in 0..<20_000 {
            // Mostly short, sometimes past the 200/255 cuts.
            let text = Self.randomText(&random, maxLength: round % 50 == 0 ? 300 : 12)
            #expect(AuthenticationResults.comment(text) == Reference.comment(text), "\(text.debugDescription)")
            #expect(AuthenticationResults.quoted(text) == Reference.quoted(text), "\(text.debugDescription)")
            #expect(AuthenticationResults.propertyValue(text) == Reference.propertyValue(text), "\(text.debugDescription)")
            #expect(AuthenticationResults.addressValue(text) == Reference.addressValue(text), "\(text.debugDescription)")
        }
        let longToken = String(repeating: "a", count: 300)
        #expect(AuthenticationResults.propertyValue(longToken) == Reference.propertyValue(longToken))
    }

    @Test func domainNamesAndSenders() {
        var random = SeededRandom(seed: 8)
        let pieces = ["a", "b1", "-", "_", ".", "x-y", "@", "é", " ", String(repeating: "c", count: 63), String(repeating: "d", count: 64)]
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...6, using: &random)
            let text = (0..<count).map { _ in pieces.randomElement(using: &random)! }.joined()
            #expect(SPFInput.isDomainName(text) == Reference.isDomainName(text), "\(text.debugDescription)")
            #expect(SPFInput.isValidSender(text) == Reference.isValidSender(text), "\(text.debugDescription)")
        }
        #expect(SPFInput.isDomainName(String(repeating: "a.", count: 126) + "bc") == false)  // 254 bytes
        #expect(SPFInput.isDomainName("example.org."))
        #expect(!SPFInput.isDomainName("localhost"))
    }
}

/// The implementations the byte-level ones replaced.
enum Reference {
    static func comment(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(200) {
            switch scalar {
            case "(", ")", "\\": out += "\\\(scalar)"
            case _ where scalar.value < 0x20 || scalar.value > 0x7e: out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return "(\(out))"
    }

    static func propertyValue(_ text: String) -> String {
        let tspecials = Set("()<>@,;:\\\"/[]?=".unicodeScalars)
        let clipped = String(String.UnicodeScalarView(text.unicodeScalars.prefix(255)))
        if !clipped.isEmpty, clipped.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f && !tspecials.contains($0) }) {
            return clipped
        }
        return quoted(clipped)
    }

    static func addressValue(_ address: String) -> String {
        let atext = Set("!#$%&'*+-/=?^_`{|}~.".unicodeScalars)
        func isAlphanumeric(_ s: Unicode.Scalar) -> Bool {
            (0x30...0x39).contains(s.value) || (0x41...0x5a).contains(s.value) || (0x61...0x7a).contains(s.value)
        }
        let plain = !address.isEmpty && address.unicodeScalars.count <= 255 && address.unicodeScalars.allSatisfy {
            ($0.value < 0x7f && (isAlphanumeric($0) || atext.contains($0))) || $0 == "@"
        } && address.filter({ $0 == "@" }).count <= 1
        return plain ? address : quoted(String(String.UnicodeScalarView(address.unicodeScalars.prefix(255))))
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"", "\\": out += "\\\(scalar)"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f: out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func isDomainName(_ text: String) -> Bool {
        var name = Substring(text)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard (1...253).contains(name.utf8.count) else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2d || $0 == 0x5f
            } && !label.hasPrefix("-") && !label.hasSuffix("-")
        }
    }

    static func isValidSender(_ sender: String) -> Bool {
        guard sender.utf8.count <= 320, let at = sender.lastIndex(of: "@") else { return false }
        let local = sender[..<at]
        guard local.utf8.count <= 64, local.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7f }) else { return false }
        return isDomainName(String(sender[sender.index(after: at)...]))
    }
}
