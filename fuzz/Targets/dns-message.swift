@testable import VigieDNS

/// DNS responses (Sources/VigieDNS/DNSMessage.swift): every byte of an answer is the
/// network's, including compression pointers and truncated packets.
///
/// Properties:
/// - any bytes parse or are refused as malformed; a parse is deterministic, reads
///   exactly the declared number of answers, and its names are at most 253
///   characters with labels of 1...63;
/// - cutting a parsable packet anywhere inside it never yields more answers;
/// - a query for a name the normaliser accepts, turned into a response with the
///   fuzzer's bytes as its answer section, reads back the same id and question
///   (so the resolver's question check compares like with like).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSMessage(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let packet = Array(UnsafeBufferPointer(start: data, count: size))
    checkParse(packet)

    var input = FuzzInput(bytes: packet)
    let id = UInt16(input.byte()) << 8 | UInt16(input.byte())
    let type = [DNSRecordType.a, .aaaa, .txt, .mx, .ptr, .cname, .ns, .spf][Int(input.byte()) % 8]
    let answerCount = input.byte() % 4
    let name = input.fieldString()
    if let normalized = try? DNSMessage.normalizedName(name) {
        require(normalized == normalized.lowercased() && !normalized.hasSuffix("."), "normalised \(normalized.debugDescription)")
        require((try? DNSMessage.normalizedName(normalized)) == normalized, "normalising is not idempotent for \(name.debugDescription)")
        var response = DNSMessage.query(id: id, name: normalized, type: type)
        response[2] |= 0x80                      // QR: a response
        response[7] = answerCount                // ANCOUNT
        response.removeLast(11)                  // the OPT record: ARCOUNT stays 1 but is never read
        response += input.rest()
        let parsed = checkParse(response)
        require(parsed == nil || (parsed!.id == id && parsed!.questionName == normalized && parsed!.questionType == type.rawValue),
                "question of a response to \(normalized) read as \(String(describing: parsed))")
        let bare = Array(response.prefix(12 + normalized.utf8.count + 2 + 4))
        var question = bare
        question[7] = 0
        let headerOnly = checkParse(question)
        require(headerOnly?.questionName == normalized && headerOnly?.answers.isEmpty == true, "bare question did not parse: \(normalized)")
    }
    return 0
}

@discardableResult
private func checkParse(_ packet: [UInt8]) -> DNSMessage.Parsed? {
    let first = try? DNSMessage.parse(packet)
    let second = try? DNSMessage.parse(packet)
    guard let first else {
        require(second == nil, "parse is not deterministic")
        return nil
    }
    require(second.map { ($0.id, $0.questionName, $0.answers) == (first.id, first.questionName, first.answers) } ?? false, "parse is not deterministic")
    let declared = Int(packet[6]) << 8 | Int(packet[7])
    require(first.answers.count == declared, "\(first.answers.count) answers for ANCOUNT \(declared)")
    for name in [first.questionName] + first.answers.map(\.name) {
        guard let labels = wireLabels(name) else { fatalError("name \(name.debugDescription) is not in presentation form") }
        require(labels.reduce(0) { $0 + $1.count + 1 } <= 255, "name of more than 255 wire bytes: \(name.debugDescription)")
        require(labels.allSatisfy { (1...63).contains($0.count) }, "label out of 1...63 in \(name.debugDescription)")
    }
    if packet.count > 12 {
        let cut = Array(packet.prefix(12 + (packet.count - 12) / 2))
        if let shorter = try? DNSMessage.parse(cut) {
            require(shorter.answers.count <= first.answers.count, "a truncated packet has more answers")
        }
    }
    return first
}

/// The wire labels of a name in presentation form (RFC 1035 §5.1): labels split at
/// unescaped dots, `\DDD` and `\X` escapes undone; nil if an escape is broken or
/// a byte that must be escaped appears bare. The root is no labels.
private func wireLabels(_ name: String) -> [[UInt8]]? {
    let bytes = Array(name.utf8)
    if bytes.isEmpty { return [] }
    var labels: [[UInt8]] = [[]]
    var index = 0
    while index < bytes.count {
        let byte = bytes[index]
        if byte == UInt8(ascii: ".") {
            labels.append([])
            index += 1
        } else if byte == UInt8(ascii: "\\") {
            guard index + 1 < bytes.count else { return nil }
            let digits = bytes[(index + 1)...].prefix(3)
            if digits.count == 3, digits.allSatisfy({ (48...57).contains($0) }),
               let value = UInt8(String(decoding: digits, as: UTF8.self)) {
                labels[labels.count - 1].append(value)
                index += 4
            } else {
                labels[labels.count - 1].append(bytes[index + 1])
                index += 2
            }
        } else {
            guard byte > 0x20 && byte < 0x7F else { return nil }
            labels[labels.count - 1].append(byte)
            index += 1
        }
    }
    return labels
}
