/// DNS wire format (RFC 1035 §4), only what a stub resolver needs: build one
/// question with EDNS0, and read a response defensively (every length is checked;
/// compression pointers may only point backwards, at most 16 per name, so a hostile
/// packet can neither loop nor make one name cost a walk over the whole packet).
enum DNSMessage {
    static let ednsPayloadSize: UInt16 = 1232

    /// Validates and normalises a query name: lower case, no trailing dot, labels of
    /// 1...63 bytes, 253 bytes in all. Underscores are allowed (`_domainkey`).
    ///
    /// One pass over the UTF-8 bytes, and no copy when the name is already in that
    /// form (every lookup runs this; lower-casing a copy and splitting it into
    /// labels as Characters was most of a cached lookup's cost, callgrind). Only
    /// printable ASCII other than `\` is allowed, so there is no Unicode case to fold.
    static func normalizedName(_ name: String) throws(DNSFailure) -> String {
        var bytes = name.utf8[...]
        if bytes.last == UInt8(ascii: ".") { bytes = bytes.dropLast() }
        guard !bytes.isEmpty, bytes.count <= 253 else { throw .invalidName(String(name.prefix(80))) }
        var labelLength = 0
        var hasUpperCase = false
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard labelLength > 0 else { throw .invalidName(String(name.prefix(80))) }
                labelLength = 0
                continue
            }
            guard byte > 0x20, byte < 0x7f, byte != UInt8(ascii: "\\") else { throw .invalidName(String(name.prefix(80))) }
            if byte >= 0x41 && byte <= 0x5a { hasUpperCase = true }
            labelLength += 1
            guard labelLength <= 63 else { throw .invalidName(String(name.prefix(80))) }
        }
        guard labelLength > 0 else { throw .invalidName(String(name.prefix(80))) }
        if !hasUpperCase && bytes.count == name.utf8.count { return name }
        return String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
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

    /// Whether `response` answers `query`: same id, QR set, one question with the
    /// query's name (ASCII case-insensitively, RFC 4343), type and class, compared as
    /// wire bytes. Anything else is not our answer, however well-formed: the
    /// resolver ignores it and keeps waiting (RFC 5452 §3).
    static func isResponse(_ response: [UInt8], to query: [UInt8]) -> Bool {
        guard response.count >= 12, query.count >= 12,
              response[0] == query[0], response[1] == query[1], response[2] & 0x80 != 0,
              response[4] == 0, response[5] == 1 else { return false }
        // The query's question: its name (uncompressed, we wrote it) and 4 bytes.
        var end = 12
        while end < query.count, query[end] != 0 { end += 1 + Int(query[end]) }
        end += 5
        guard end <= query.count, response.count >= end else { return false }
        for index in 12..<end {
            let a = query[index], b = response[index]
            guard a == b || (Self.isASCIILetter(a) && a | 0x20 == b | 0x20) else { return false }
        }
        return true
    }

    private static func isASCIILetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
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
        /// Most compression pointers followed while reading one name.
        static let maximumPointerHops = 16

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
            var hops = 0
            while true {
                guard position < packet.count else { throw .malformedResponse("name overruns packet") }
                let length = Int(packet[position])
                if length & 0xc0 == 0xc0 {
                    guard position + 1 < packet.count else { throw .malformedResponse("bad pointer") }
                    let target = (length & 0x3f) << 8 | Int(packet[position + 1])
                    // Backwards only: a forward or self pointer could loop forever.
                    guard target < position else { throw .malformedResponse("forward compression pointer") }
                    // Backwards pointers end, but a chain of them can make one name
                    // cost a walk over the whole packet; a compressor writes one per
                    // name, so a handful is generous.
                    hops += 1
                    guard hops <= Self.maximumPointerHops else { throw .malformedResponse("more than \(Self.maximumPointerHops) compression pointers in one name") }
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
                labels.append(Self.presentation(packet[(position + 1)...(position + length)]))
                position += 1 + length
            }
            return labels.joined(separator: ".")
        }

        /// A label in presentation form (RFC 1035 §5.1), lower-cased: `.` and `\`
        /// escaped, bytes outside printable ASCII as `\DDD`. A label is any bytes on
        /// the wire; written bare, `a.b` as one label would read as two, and a
        /// question for `example.com` could be answered by one that is not.
        static func presentation(_ label: ArraySlice<UInt8>) -> String {
            var text: [UInt8] = []
            text.reserveCapacity(label.count)
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"):
                    text += [UInt8(ascii: "\\"), byte]
                case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                    text.append(byte | 0x20)
                case 0x21..<0x7F:
                    text.append(byte)
                default:
                    text += [UInt8(ascii: "\\"), 0x30 + byte / 100, 0x30 + byte / 10 % 10, 0x30 + byte % 10]
                }
            }
            return String(decoding: text, as: UTF8.self)
        }
    }
}
