import Testing
@testable import VigieDNS

/// Reading hostile responses (RFC 1035 §4.1.4 compression, any bytes in labels).
@Suite struct DNSMessageTests {
    /// Where the first answer's data starts: header, question, name pointer and
    /// the record's fixed fields.
    static let prefixOffset = 12 + 7 + 12

    /// A response to `x`/A with two answers: one of an unknown type whose data is
    /// `prefix` (bytes the second answer's name can point back into), then an A
    /// record named `answerName` (raw bytes).
    static func response(prefix: [UInt8] = [], answerName: [UInt8]) -> [UInt8] {
        var packet: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]
        packet += [1, UInt8(ascii: "x"), 0, 0, 1, 0, 1]   // question x./A at offset 12
        packet += [0xC0, 0x0C, 0x12, 0x34, 0, 1, 0, 0, 0, 60, 0, UInt8(prefix.count)] + prefix
        packet += answerName + [0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]
        return packet
    }

    /// `hops` pointers in a row, each to the one before, ending at the question's
    /// name (offset 12): a chain that ends, but costs a jump per pointer.
    static func pointerChain(hops: Int) -> [UInt8] {
        var prefix: [UInt8] = []
        var previous = 12
        for _ in 0..<(hops - 1) {
            let here = prefixOffset + prefix.count
            prefix += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xff)]
            previous = here
        }
        return response(prefix: prefix, answerName: [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xff)])
    }

    @Test func shortPointerChainsAreRead() throws {
        let parsed = try DNSMessage.parse(Self.pointerChain(hops: DNSMessage.Reader.maximumPointerHops))
        #expect(parsed.answers.map(\.name) == ["x", "x"])
    }

    @Test func longPointerChainsAreRefused() {
        #expect(throws: DNSFailure.self) { try DNSMessage.parse(Self.pointerChain(hops: DNSMessage.Reader.maximumPointerHops + 1)) }
    }

    @Test func forwardAndSelfPointersAreRefused() {
        let forward = Self.response(answerName: [0xC0, 0xFF])
        #expect(throws: DNSFailure.self) { try DNSMessage.parse(forward) }
        let selfPointer = Self.response(answerName: [0xC0, UInt8(Self.prefixOffset)])  // where the A record's name starts
        #expect(throws: DNSFailure.self) { try DNSMessage.parse(selfPointer) }
    }

    /// Found by fuzz/Targets/dns-message.swift: label bytes were taken as text, so
    /// a NUL or a dot inside a label made names that read as other names. They are
    /// written in presentation form now.
    @Test func labelBytesAreEscaped() throws {
        let parsed = try DNSMessage.parse(Self.response(answerName: [3, UInt8(ascii: "a"), UInt8(ascii: "."), UInt8(ascii: "B"), 2, 0, 0x5C, 1, 0xFF, 0]))
        #expect(parsed.answers.last?.name == "a\\.b.\\000\\\\.\\255")
    }

    @Test func aQuestionMustMatchAsWireBytes() {
        let query = DNSMessage.query(id: 7, name: "victim.test", type: .a)
        var upper = query
        upper[2] |= 0x80
        upper[13] = UInt8(ascii: "V")
        #expect(DNSMessage.isResponse(upper, to: query))
        var oneLabel = Array(query[0..<12]) + [11] + Array("victim.test".utf8) + [0, 0, 1, 0, 1]
        oneLabel[2] |= 0x80
        #expect(!DNSMessage.isResponse(oneLabel, to: query))
        #expect(!DNSMessage.isResponse(Array(upper.prefix(20)), to: query))
        var notAResponse = upper
        notAResponse[2] &= 0x7F
        #expect(!DNSMessage.isResponse(notAResponse, to: query))
    }
}
