import Foundation
import Testing
import VigieTestKit
import VigieCore
@testable import VigieConfig

/// Robustness: random and mutated input must end in a value or a `ConfigError`,
/// never a trap, a hang or a stack overflow. Seeded, so a failure replays.
@Suite("Fuzz: parser and loader")
struct ConfigFuzzTests {
    /// Bytes that matter to TOML, and some that must be refused.
    static let interesting: [UInt8] = Array("[]{}\"'=#.,\n\r\t \\_-+:0123456789eExob_infatrue".utf8) + [0x00, 0x7F, 0xC3, 0xA9, 0xFF, 0xE2, 0x80]

    static func mutate(_ input: [UInt8], using random: inout SeededRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<8, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[position] = interesting.randomElement(using: &random)!
            case 1:
                bytes.insert(interesting.randomElement(using: &random)!, at: position)
            case 2 where !bytes.isEmpty:
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...40, using: &random)))
            case 3 where !bytes.isEmpty:
                bytes.removeSubrange(position...)
            case 4 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...200, using: &random))
                let chunk = bytes[position..<end]
                bytes.insert(contentsOf: chunk, at: Int.random(in: 0...bytes.count, using: &random))
            case 5 where !bytes.isEmpty:
                bytes[position] = UInt8.random(in: 0...255, using: &random)
            case 6:
                bytes.insert(contentsOf: repeatElement(interesting.randomElement(using: &random)!, count: Int.random(in: 2...80, using: &random)), at: position)
            default:
                let snippets = ["[[a]]\n", "[limits]\n", "a.b.c = 1\n", "x = {y = [1, {z = \"\"\"", "'''", "\\u", "= =", "\n[groups.newsletter]\n"]
                bytes.insert(contentsOf: Array(snippets.randomElement(using: &random)!.utf8), at: position)
            }
        }
        return bytes
    }

    static func lineCount(_ bytes: [UInt8]) -> Int {
        var lines = 1
        for byte in bytes where byte == 0x0A { lines += 1 }
        return lines
    }

    /// The shipped file without its comment lines: the mutations then land on keys,
    /// values and headers rather than mostly inside comments (and each run is
    /// quicker, which keeps thousands of them within a second or two in a debug build).
    static func withoutCommentLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.drop(while: { $0 == " " }).hasPrefix("#") }
            .joined(separator: "\n")
    }

    /// Checks one outcome of parsing `input`: a value, or an error that points
    /// inside it.
    static func parse(_ input: [UInt8], file: String, exactLines: Bool = true) -> TOMLDocument? {
        do {
            return try TOMLDocument(parsing: input, file: file)
        } catch {
            #expect(error.file == file)
            // Counting lines is a loop over every byte: in a debug build the exact
            // check on every run would be a good part of the test's time.
            let lastLine = exactLines ? lineCount(input) : input.count + 1
            #expect((1...lastLine).contains(error.line ?? 0), "\(error)")
            #expect(!error.message.isEmpty)
            return nil
        }
    }

    @Test func mutationsOfTheShippedConfiguration() throws {
        let directory = try TemporaryDirectory()
        for language in ["fr", "en"] {
            let text = try String(contentsOfFile: "\(shippedNotices)/\(language).toml", encoding: .utf8)
            try directory.write("notices/\(language).toml", Self.withoutCommentLines(text))
        }
        let file = directory.path + "/vigie.toml"
        let full = try String(contentsOfFile: shippedConfig, encoding: .utf8)
        let stripped = Array(Self.withoutCommentLines(full).utf8)
        var random = SeededRandom(seed: 0x5EED_0F_0C0FF1E)
        var parsed = 0, refused = 0, loaded = 0
        for iteration in 0..<2_000 {
            // Mostly the keys and values; one in five the whole commented file.
            let input = Self.mutate(iteration % 5 == 0 ? Array(full.utf8) : stripped, using: &random)
            guard Self.parse(input, file: file, exactLines: iteration % 8 == 0) != nil else {
                refused += 1
                continue
            }
            parsed += 1
            // Valid TOML: the schema must now accept it or say why, also without crashing.
            do {
                _ = try ConfigLoader.parse(String(decoding: input, as: UTF8.self), file: file)
                loaded += 1
            } catch {
                #expect(!error.message.isEmpty)
                #expect(error.line.map { $0 >= 1 } ?? true)
            }
        }
        // Every path was exercised.
        #expect(parsed > 100 && refused > 100 && loaded > 10, "parsed \(parsed), refused \(refused), loaded \(loaded)")
    }

    @Test func mutationsOfTheShippedNotices() throws {
        let text = try String(contentsOfFile: "\(shippedNotices)/fr.toml", encoding: .utf8)
        let stripped = Array(Self.withoutCommentLines(text).utf8)
        var random = SeededRandom(seed: 0xF4)
        var loaded = 0
        for _ in 0..<1_000 {
            guard let document = Self.parse(Self.mutate(stripped, using: &random), file: "fr.toml", exactLines: false) else { continue }
            if (try? NoticeTemplates(parsing: document, language: "fr")) != nil { loaded += 1 }
        }
        #expect(loaded > 10)
    }

    @Test func randomTOMLishBytes() {
        var random = SeededRandom(seed: 42)
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...120, using: &random)
            let input = (0..<length).map { _ in Self.interesting.randomElement(using: &random)! }
            do {
                _ = try TOMLDocument(parsing: input, file: "random.toml")
            } catch {
                #expect((1...Self.lineCount(input)).contains(error.line ?? 0), "\(error)")
            }
        }
    }

    @Test func hostileNestingIsRefusedNotOverflowed() {
        let cases = [
            "a = " + String(repeating: "[", count: 100_000),
            "a = " + String(repeating: "{b = ", count: 100_000),
            "[" + Array(repeating: "a", count: 100_000).joined(separator: ".") + "]",
            Array(repeating: "a", count: 100_000).joined(separator: ".") + " = 1",
            String(repeating: "[[a]]\n", count: 20_000),
            "a = \"" + String(repeating: "\\", count: 100_001),
            String(repeating: "#", count: 200_000),
        ]
        for text in cases {
            _ = try? TOMLDocument(parsing: text, file: "deep.toml")
        }
    }
}
