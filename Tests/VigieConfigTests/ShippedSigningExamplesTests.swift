import Foundation
import Testing
import VigieCrypto
import VigieDKIM
@testable import VigieConfig

/// The `[dkim.sign]` section of the shipped vigie.toml: what it writes is the
/// built-in default, and what it shows commented out (the `headers` and `oversign`
/// lists, the two `[[dkim.sign.key]]` examples) loads once uncommented, with the
/// defaults DKIMSigner really uses. The shipped file itself holds no key, so it
/// loads on a host with no key file.
@Suite struct ShippedSigningExamplesTests {
    @Test func theShippedSectionIsTheBuiltInDefault() throws {
        let shipped = try ConfigLoader.load(path: shippedConfig)
        #expect(shipped.signing == SigningSettings())
        #expect(shipped.signing.keys.isEmpty)
    }

    @Test func theCommentedOutExamplesLoadUncommented() throws {
        let directory = try TemporaryDirectory()
        let text = try String(contentsOfFile: shippedConfig, encoding: .utf8)
        let uncommented = Self.uncommentingSigningExamples(text)
        try #require(uncommented.contains("\n[[dkim.sign.key]]\n"), "no key example found in \(shippedConfig)")

        // The examples name /etc/vigie/dkim/DOMAIN.SELECTOR.pem, as keygen writes.
        let files = uncommented.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("file = \"/etc/vigie/dkim/") else { return nil }
            return String(line.dropFirst("file = \"".count).dropLast())
        }
        #expect(files.count == 2, "an RSA and an Ed25519 example: \(files)")
        for file in files {
            let kind: PrivateKey.Kind = file.contains("-ed.") ? .ed25519 : .rsa(bits: 2048)
            let path = directory.path + "/" + (file as NSString).lastPathComponent
            #expect(FileManager.default.createFile(atPath: path, contents: Data(try PrivateKey.generate(kind).pem),
                                                   attributes: [.posixPermissions: 0o600]))
        }
        let config = uncommented.replacingOccurrences(of: "\"/etc/vigie/dkim/", with: "\"\(directory.path)/")
        let signing = try ConfigLoader.parse(config, file: shippedConfig).signing

        #expect(signing.keys.map(\.algorithm) == ["rsa-sha256", "ed25519-sha256"])
        #expect(signing.keys.allSatisfy { $0.domain == "example.org" && $0.fromDomains == ["example.org", ".example.org"] })
        #expect(Set(signing.keys.map(\.selector)).count == 2, "dual signing needs two selectors")
        // The lists shown are the defaults the signer uses when they are left out.
        #expect(signing.headers == DKIMSigner.Options.recommendedHeaders)
        #expect(signing.oversign == DKIMSigner.Options.recommendedOversigned)
    }

    /// The `[dkim.sign]` section with its commented-out settings uncommented: lines
    /// "# key = value" (one space: prose examples are indented further), their
    /// array continuations, and "# [[dkim.sign.key]]".
    static func uncommentingSigningExamples(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(of: "[dkim.sign]") else { return text }
        var index = start + 1
        var inArray = false
        while index < lines.count, !lines[index].hasPrefix("[") {
            let line = lines[index]
            if inArray, line.hasPrefix("#") {
                lines[index] = String(line.dropFirst())
                inArray = !line.contains("]")
            } else if line == "# [[dkim.sign.key]]" {
                lines[index] = "[[dkim.sign.key]]"
            } else if line.hasPrefix("# "), let first = line.dropFirst(2).first, first.isLowercase,
                      let equals = line.range(of: " = "), !line[line.index(line.startIndex, offsetBy: 2)..<equals.lowerBound].contains(" ") {
                lines[index] = String(line.dropFirst(2))
                inArray = lines[index].contains("[") && !lines[index].contains("]")
            }
            index += 1
        }
        return lines.joined(separator: "\n")
    }
}
