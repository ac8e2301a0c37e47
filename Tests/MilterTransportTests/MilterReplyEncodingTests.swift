import Foundation
import MilterTransport
import Testing
import VigieReply

/// libmilter's rules for a reply, applied in the transport only (the policy's
/// `SMTPReply` holds the text as meant).
@Suite struct MilterReplyEncodingTests {
    @Test func aPercentIsDoubledOnTheWayOut() {
        let reply = SMTPReply(code: "450", enhancedCode: "4.7.1", lines: ["100% of your quota", "no percent here"])
        #expect(MilterReplyEncoding.lines(of: reply) == ["100%% of your quota", "no percent here"])
        #expect(reply.lines[0] == "100% of your quota", "the policy's value is untouched")
    }

    @Test func atMostThirtyTwoLinesAndOneEmptyLineForNone() {
        let many = SMTPReply(code: "550", enhancedCode: "5.7.1", lines: (1...40).map { "line \($0)" })
        #expect(MilterReplyEncoding.lines(of: many).count == 32)
        #expect(MilterReplyEncoding.lines(of: SMTPReply(code: "550", enhancedCode: "5.7.1", lines: [])) == [""])
    }

    @Test func aLineStaysWithinLibmiltersLengthAfterDoubling() {
        // 980 bytes before escaping, every other one a %: the escaped line must be cut
        // back to 980 bytes, never in the middle of a "%%" nor of a character.
        let line = String(repeating: "a%", count: 490)
        let out = MilterReplyEncoding.lines(of: SMTPReply(code: "550", enhancedCode: "5.7.1", lines: [line]))[0]
        #expect(out.utf8.count <= MilterReplyEncoding.maximumLineBytes)
        #expect(out.utf8.count >= MilterReplyEncoding.maximumLineBytes - 2)
        #expect(out.replacingOccurrences(of: "%%", with: "").contains("%") == false, "a lone % was left: \(out.suffix(10))")
        let accents = String(repeating: "é%", count: 400)
        let cut = MilterReplyEncoding.lines(of: SMTPReply(code: "550", enhancedCode: "5.7.1", lines: [accents]))[0]
        #expect(cut.utf8.count <= MilterReplyEncoding.maximumLineBytes)
        #expect(cut.allSatisfy { $0 == "é" || $0 == "%" })
    }
}
