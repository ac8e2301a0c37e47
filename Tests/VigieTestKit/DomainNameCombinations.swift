/// Names for checking a domain-name normaliser against its definition: every
/// `first + second + suffix` of the pieces (empty, dots, blanks, labels of 63 and
/// 64 bytes, ...), then two names just under and just over 253 bytes.
public func domainNameCombinations(pieces: [String], suffixes: [String]) -> [String] {
    var names: [String] = []
    for first in pieces { for second in pieces { for suffix in suffixes { names.append(first + second + suffix) } } }
    let nearLimit = Array(repeating: "abcdefghi", count: 25).joined(separator: ".")
    names.append(nearLimit + ".abc")   // 253 bytes
    names.append(nearLimit + ".abcd")  // 254 bytes
    return names
}
