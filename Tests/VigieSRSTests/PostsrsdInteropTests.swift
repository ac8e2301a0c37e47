// Interop with Debian's postsrsd 1.10, started by hand on free loopback ports with the
// same secrets file: what postsrsd issues, Vigie reverses; what Vigie issues, postsrsd
// reverses (all of it in base64 mode; in the default base64url mode, exactly the
// addresses whose hash has no '-' or '_', which postsrsd 1.x does not know).

import Foundation
import Testing
@testable import VigieSRS
import VigieTestKit

let postsrsdBinary = "/usr/sbin/postsrsd"

/// A postsrsd 1.x in the foreground on two free loopback ports.
final class PostsrsdUnderTest {
    let process: LaunchedProcess
    let forwardPort: Int
    let reversePort: Int

    init(secretsFile: String, domain: String) throws {
        forwardPort = try LoopbackPort.free()
        var reverse = try LoopbackPort.free()
        while reverse == forwardPort { reverse = try LoopbackPort.free() }
        reversePort = reverse
        process = try LaunchedProcess(postsrsdBinary, ["-s", secretsFile, "-d", domain, "-l", "127.0.0.1", "-4",
                                                        "-f", String(forwardPort), "-r", String(reversePort)])
        try Wait.until("postsrsd to listen", timeout: 10, interval: 0.05) {
            (try? LineClient(port: self.forwardPort)) != nil && (try? LineClient(port: self.reversePort)) != nil
        }
    }

    deinit { _ = process.stop(grace: 2) }

    /// postsrsd's answer: the decoded data of a 200 reply, nil for 500.
    static func ask(_ client: LineClient, _ key: String) throws -> String? {
        let reply = try client.request("get \(String(decoding: TCPTableProtocolForTests.encode(Array(key.utf8)), as: UTF8.self))\n")
        guard reply.hasPrefix("200 ") else { return nil }
        let data = reply.dropFirst(4).trimmingCharacters(in: .newlines)
        return String(decoding: TCPTableProtocolForTests.decode(Array(data.utf8)[...]) ?? [], as: UTF8.self)
    }
}

import SRSLookup
typealias TCPTableProtocolForTests = TCPTableProtocol

@Suite("Interop with postsrsd 1.10", .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: postsrsdBinary)))
struct PostsrsdInteropTests {
    static let senders: [String] = {
        var senders = ["alice@example.com", "Bob.Smith@Example.ORG", "o'hara@sub.example.net", "user+tag@example.com",
                       "x@xn--bcher-kva.example", "a_b-c@example.co.uk", "SRS0=HHHH=TT=orig.example=carol@fwd.example"]
        for number in 0..<120 { senders.append("user\(number).name@domain\(number % 7).example") }
        return senders
    }()

    func withPostsrsd(secrets: [String], _ body: (PostsrsdUnderTest, LineClient, LineClient) throws -> Void) throws {
        let directory = try TestDirectory.make(prefix: "vigie-postsrsd-")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/postsrsd.secret"
        try (secrets.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        let postsrsd = try PostsrsdUnderTest(secretsFile: file, domain: "srs.example")
        try body(postsrsd, try LineClient(port: postsrsd.forwardPort), try LineClient(port: postsrsd.reversePort))
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    @Test("addresses postsrsd issues reverse in Vigie (SRS0 and SRS1, with a rotated secrets file)")
    func postsrsdToVigie() throws {
        try withPostsrsd(secrets: ["n3wS3cret", "0ldS3cret"]) { _, forward, _ in
            let vigie = try makeCodec(secrets: ["0ldS3cret"] + ["n3wS3cret"])  // order does not matter for verifying
            var checked = 0
            for sender in Self.senders {
                let srs = try #require(try PostsrsdUnderTest.ask(forward, sender), "postsrsd did not rewrite \(sender)")
                let expected = sender
                #expect(try vigie.reverse(srs, now: Self.now) == .original(expected), "\(sender) -> \(srs)")
                // Postfix lower-cases lookup keys: still valid.
                guard case .original(let lowered) = try vigie.reverse(srs.lowercased(), now: Self.now) else {
                    Issue.record("\(srs) lower-cased refused")
                    continue
                }
                #expect(lowered.lowercased() == expected.lowercased(), "\(srs)")
                checked += 1
            }
            #expect(checked == Self.senders.count)
        }
    }

    @Test("addresses Vigie issues reverse in postsrsd: all in base64 mode, the '-'/'_'-free ones in base64url mode")
    func vigieToPostsrsd() throws {
        try withPostsrsd(secrets: ["s3cr3t-shared"]) { _, _, reverse in
            let classic = try makeCodec(secrets: ["s3cr3t-shared"], encoding: .base64)
            let url = try makeCodec(secrets: ["s3cr3t-shared"])
            var withURLCharacters = 0
            for sender in Self.senders {
                let fromClassic = try #require(rewritten(try classic.forward(sender, now: Self.now)))
                #expect(try PostsrsdUnderTest.ask(reverse, fromClassic) == sender, "\(fromClassic)")
                let fromURL = try #require(rewritten(try url.forward(sender, now: Self.now)))
                let hash = fromURL.split(separator: "=")[1]
                if hash.contains("-") || hash.contains("_") {
                    withURLCharacters += 1
                    #expect(try PostsrsdUnderTest.ask(reverse, fromURL) == nil, "postsrsd 1.x was not expected to accept \(fromURL)")
                } else {
                    #expect(try PostsrsdUnderTest.ask(reverse, fromURL) == sender, "\(fromURL)")
                }
            }
            // About 1 address in 8 has '-' or '_' in a 4-character hash.
            #expect(withURLCharacters < Self.senders.count / 3)
        }
    }

    @Test("postsrsd and Vigie write the same SRS0 address for the same sender, secret and day (base64 mode)")
    func sameOutput() throws {
        try withPostsrsd(secrets: ["same-secret"]) { _, forward, _ in
            let classic = try makeCodec(secrets: ["same-secret"], encoding: .base64)
            for sender in Self.senders.prefix(40) {
                let theirs = try PostsrsdUnderTest.ask(forward, sender)
                let ours = rewritten(try classic.forward(sender, now: Self.now))
                #expect(theirs == ours, "\(sender)")
            }
        }
    }
}
