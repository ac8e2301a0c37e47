/// DNS wire format (RFC 1035 §4), only what a stub resolver needs: build one
/// question with EDNS0, and read a response defensively (every length is checked;
/// compression pointers may only point backwards, so a hostile packet cannot loop).
enum DNSMessage {
    static let ednsPayloadSize: UInt16 = 1232

    /// Validates and normalises a query name: lower case, no trailing dot, labels of
    /// 1...63 bytes, 253 bytes in all. Underscores are allowed (`_domainkey`).
    static func normalizedName(_ name: String) throws(DNSFailure) -> String {
        var trimmed = name.lowercased()
        if trimmed.hasSuffix(".") { trimmed.removeLast() }
        guard !trimmed.isEmpty, trimmed.utf8.count <= 253 else { throw .invalidName(String(name.prefix(80))) }
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            guard (1...63).contains(label.utf8.count),
                  label.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\\") })
            else { throw .invalidName(String(name.prefix(80))) }
        }
        return trimmed
    }

    static func query(id: UInt16, name: String, type: DNSRecordType) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff),
                              0x01, 0x00,   // RD
                              0, 1, 0, 0, 0, 0, 0, 1] // QD=1, AN=0, NS=0, AR=1 (OPT)
        for label in name.split(separator: ".") {
            bytes.append(UInt8(label.utf8.count))
            bytes.append(contentsOf: label.utf8)
        }
        bytes.append(0)
        bytes += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), 0, 1] // IN
        // OPT pseudo-record: root name, type 41, class = UDP payload size.
        bytes += [0, 0, 41, UInt8(ednsPayloadSize >> 8), UInt8(ednsPayloadSize & 0xff), 0, 0, 0, 0, 0, 0]
        return bytes
    }

    struct Parsed {
        var id: UInt16
        var truncated: Bool
        var responseCode: DNSResponseCode
        var questionName: String
        var questionType: UInt16
        var answers: [DNSRecord]
    }

    static func parse(_ packet: [UInt8]) throws(DNSFailure) -> Parsed {
        var reader = Reader(packet: packet)
        guard packet.count >= 12 else { throw .malformedResponse("short header") }
        let id = try reader.u16()
        let flags = try reader.u16()
        guard flags & 0x8000 != 0 else { throw .malformedResponse("not a response") }
        let qdCount = try reader.u16(), anCount = try reader.u16()
        _ = try reader.u16(); _ = try reader.u16()
        guard qdCount == 1 else { throw .malformedResponse("\(qdCount) questions") }
        let qName = try reader.name()
        let qType = try reader.u16()
        _ = try reader.u16()
        var answers: [DNSRecord] = []
        answers.reserveCapacity(min(Int(anCount), 64))
        for _ in 0..<anCount {
            let name = try reader.name()
            let type = try reader.u16()
            _ = try reader.u16() // class
            let ttl = try reader.u32()
            let length = Int(try reader.u16())
            let start = reader.offset
            guard start + length <= packet.count else { throw .malformedResponse("record overruns packet") }
            let data = try recordData(type: type, start: start, length: length, reader: &reader)
            reader.offset = start + length
            answers.append(DNSRecord(name: name, type: type, ttl: ttl, data: data))
        }
        return Parsed(id: id, truncated: flags & 0x0200 != 0, responseCode: DNSResponseCode(UInt8(flags & 0x000f)),
                      questionName: qName, questionType: qType, answers: answers)
    }

    private static func recordData(type: UInt16, start: Int, length: Int, reader: inout Reader) throws(DNSFailure) -> DNSRecordData {
        let bytes = Array(reader.packet[start..<start + length])
        switch type {
        case DNSRecordType.a.rawValue:
            guard length == 4 else { throw .malformedResponse("A record of \(length) bytes") }
            return .ipv4(bytes)
        case DNSRecordType.aaaa.rawValue:
            guard length == 16 else { throw .malformedResponse("AAAA record of \(length) bytes") }
            return .ipv6(bytes)
        case DNSRecordType.ns.rawValue, DNSRecordType.cname.rawValue, DNSRecordType.ptr.rawValue:
            return .domainName(try reader.name())
        case DNSRecordType.mx.rawValue:
            let preference = try reader.u16()
            return .mx(preference: preference, exchange: try reader.name())
        case DNSRecordType.txt.rawValue, DNSRecordType.spf.rawValue:
            var strings: [[UInt8]] = []
            var i = 0
            while i < length {
                let n = Int(bytes[i])
                guard i + 1 + n <= length else { throw .malformedResponse("TXT string overruns record") }
                strings.append(Array(bytes[(i + 1)..<(i + 1 + n)]))
                i += 1 + n
            }
            return .text(strings)
        default:
            return .other(bytes)
        }
    }

    struct Reader {
        let packet: [UInt8]
        var offset = 0

        mutating func u16() throws(DNSFailure) -> UInt16 {
            guard offset + 2 <= packet.count else { throw .malformedResponse("truncated") }
            defer { offset += 2 }
            return UInt16(packet[offset]) << 8 | UInt16(packet[offset + 1])
        }

        mutating func u32() throws(DNSFailure) -> UInt32 {
            UInt32(try u16()) << 16 | UInt32(try u16())
        }

        /// A possibly compressed name; leaves `offset` after the name in place.
        mutating func name() throws(DNSFailure) -> String {
            var labels: [String] = []
            var position = offset
            var jumped = false
            var total = 0
            while true {
                guard position < packet.count else { throw .malformedResponse("name overruns packet") }
                let length = Int(packet[position])
                if length & 0xc0 == 0xc0 {
                    guard position + 1 < packet.count else { throw .malformedResponse("bad pointer") }
                    let target = (length & 0x3f) << 8 | Int(packet[position + 1])
                    // Backwards only: a forward or self pointer could loop forever.
                    guard target < position else { throw .malformedResponse("forward compression pointer") }
                    if !jumped { offset = position + 2 }
                    jumped = true
                    position = target
                    continue
                }
                guard length & 0xc0 == 0 else { throw .malformedResponse("bad label type") }
                if length == 0 {
                    if !jumped { offset = position + 1 }
                    break
                }
                guard position + 1 + length <= packet.count else { throw .malformedResponse("label overruns packet") }
                total += length + 1
                guard total <= 255 else { throw .malformedResponse("name too long") }
                labels.append(String(decoding: packet[(position + 1)...(position + length)], as: UTF8.self).lowercased())
                position += 1 + length
            }
            return labels.joined(separator: ".")
        }
    }
}
