import Foundation
import Testing
@testable import VigieConfig

/// Every key the shipped vigie.toml sets, given a value of the wrong type, is refused
/// with the file, the key's own line and its dotted path (issue 14: a configuration
/// that checks is one that starts, and a bad one says where). The walk is over the
/// file's text, so a key added to conf/vigie.toml is covered without touching this test.
@Suite struct ShippedKeysTests {
    struct Key: CustomStringConvertible {
        let path: String
        let line: Int
        let text: String  // the whole file with this key's value replaced
        var description: String { "\(path) (line \(line))" }
    }

    static let keys: [Key] = {
        guard let text = try? String(contentsOfFile: shippedConfig, encoding: .utf8) else { return [] }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var table = ""
        var found: [Key] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            if line.hasPrefix("["), let end = line.firstIndex(of: "]") {
                table = String(line[line.index(after: line.startIndex)..<end])
            }
            guard let equals = line.range(of: " = "), let first = line.first, first.isLetter,
                  !line[..<equals.lowerBound].contains(" ") else { index += 1; continue }
            let key = String(line[..<equals.lowerBound])
            let value = line[equals.upperBound...].trimmingCharacters(in: .whitespaces)
            // A multi-line array runs to its closing bracket: replaced as a whole.
            var last = index
            if value.hasPrefix("["), !value.contains("]") {
                while last + 1 < lines.count, !lines[last].contains("]") { last += 1 }
            }
            let wrong = value.hasPrefix("\"") || value.hasPrefix("[") ? "true" : "\"not-a-number-nor-a-flag\""
            var mutated = lines
            mutated.replaceSubrange(index...last, with: ["\(key) = \(wrong)"])
            found.append(Key(path: table.isEmpty ? key : "\(table).\(key)", line: index + 1,
                             text: mutated.joined(separator: "\n")))
            index = last + 1
        }
        return found
    }()

    @Test func theWalkFindsTheKeys() {
        // A broken walk (a moved file, a changed layout) must not pass by finding none.
        #expect(Self.keys.count >= 60, "\(Self.keys.count) keys found in \(shippedConfig)")
        #expect(Self.keys.contains { $0.path == "inbound.nameservers" || $0.path == "daemon.socket" })
        // A dotted table heading ([dkim.sign]) is walked like the others.
        #expect(Self.keys.contains { $0.path == "dkim.sign.socket" })
    }

    @Test(arguments: keys)
    func aWrongTypeIsRefusedAtItsLine(_ key: Key) {
        do {
            _ = try ConfigLoader.parse(key.text, file: shippedConfig)
            Issue.record("\(key): a value of the wrong type was accepted")
        } catch {
            #expect(error.file == shippedConfig, "\(key): \(error)")
            #expect(error.line == key.line, "\(key): \(error)")
            #expect(error.key == key.path, "\(key): \(error)")
        }
    }
}
