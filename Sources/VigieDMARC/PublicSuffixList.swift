/// The Public Suffix List (publicsuffix.org, Debian's `publicsuffix` package), for
/// the organisational domain of RFC 7489 §3.2: the public suffix plus one label.
///
/// Both sections are used, ICANN and PRIVATE, as opendmarc and the large receivers
/// do: a private-section suffix (`github.io`, `blogspot.com`) is a registry where
/// unrelated people own the names below it, so `alice.github.io` and
/// `mallory.github.io` must not align under relaxed alignment, nor the first take
/// `github.io`'s sp= as its own. The ICANN section alone would give both the
/// organisational domain `github.io`.
///
/// Rules are matched as publicsuffix.org says: exception rules (`!`) first, else
/// the rule with the most labels, wildcards (`*.`) included; with no match the
/// default rule `*` (the last label is the suffix), so an unlisted TLD such as
/// `.test` still works. A name that is itself a public suffix is its own
/// organisational domain (so `_dmarc.<suffix>` is still where its policy is, RFC 9091).
///
/// Parsed once from the file's text (at start); lookups take no lock and allocate
/// only the candidate suffixes.
public struct PublicSuffixList: Sendable, Equatable {
    private var rules: Set<String> = []
    /// `*.ck` is kept as `ck`.
    private var wildcards: Set<String> = []
    /// `!www.ck` is kept as `www.ck`.
    private var exceptions: Set<String> = []
    /// Rules read from the ICANN and the PRIVATE section, for the start-up log line.
    public private(set) var icannRules = 0
    public private(set) var privateRules = 0

    public var ruleCount: Int { rules.count + wildcards.count + exceptions.count }

    public struct ParseError: Error, CustomStringConvertible, Equatable, Sendable {
        public var description: String
    }

    /// Parses the list's text (UTF-8, one rule per line, `//` comments). A rule
    /// that cannot be a domain name is skipped; a text with no rule at all is an
    /// error (the wrong file, or an empty one), since every domain would then be
    /// its own organisational domain with no warning.
    public init(parsing text: String) throws(ParseError) {
        enum Section { case none, icann, `private` }
        var section = Section.none
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("//") {
                if line.contains("===BEGIN ICANN DOMAINS===") { section = .icann }
                else if line.contains("===BEGIN PRIVATE DOMAINS===") { section = .private }
                else if line.contains("===END ") { section = .none }
                continue
            }
            // The rule is the line up to its first white space.
            let rule = line.prefix { $0 != " " && $0 != "\t" }
            guard !rule.isEmpty else { continue }
            var added = false
            if rule.hasPrefix("!") {
                if let name = DomainName.normalized(rule.dropFirst()), name.contains(".") {
                    exceptions.insert(name)
                    added = true
                }
            } else if rule.hasPrefix("*.") {
                if let name = DomainName.normalized(rule.dropFirst(2)) {
                    wildcards.insert(name)
                    added = true
                }
            } else if let name = DomainName.normalized(rule) {
                rules.insert(name)
                added = true
            }
            if added {
                switch section {
                case .icann: icannRules += 1
                case .private: privateRules += 1
                case .none: break
                }
            }
        }
        guard ruleCount > 0 else {
            throw ParseError(description: "no public suffix rule in it (expected Debian's /usr/share/publicsuffix/public_suffix_list.dat)")
        }
    }

    /// A list of the given rules (tests).
    public init(rules: [String]) throws(ParseError) {
        try self.init(parsing: rules.joined(separator: "\n"))
    }

    /// How many labels at the end of `name` (normalised) are its public suffix.
    func publicSuffixLabels(of name: String) -> Int {
        publicSuffixLabels(of: name, labelStarts: Self.labelStarts(of: name))
    }

    /// Where each label of `name` starts, leftmost first: the name, then after each
    /// dot. Found on the UTF-8 bytes: searching for "." as a Character walked
    /// grapheme boundaries and was most of a lookup's cost (callgrind).
    private static func labelStarts(of name: String) -> [String.Index] {
        var starts = [name.startIndex]
        let utf8 = name.utf8
        var index = utf8.startIndex
        while let dot = utf8[index...].firstIndex(of: UInt8(ascii: ".")) {
            index = utf8.index(after: dot)
            starts.append(index)
        }
        return starts
    }

    private func publicSuffixLabels(of name: String, labelStarts starts: [String.Index]) -> Int {
        let labelCount = starts.count
        for (position, start) in starts.enumerated() where exceptions.contains(String(name[start...])) {
            // The exception's own rule minus its leftmost label.
            return labelCount - position - 1
        }
        for (position, start) in starts.enumerated() {
            if rules.contains(String(name[start...])) { return labelCount - position }
            if position + 1 < labelCount, wildcards.contains(String(name[starts[position + 1]...])) {
                return labelCount - position
            }
        }
        return 1
    }

    /// The organisational domain of an already normalised name (`DomainName`).
    public func organisationalDomain(of name: String) -> String {
        let starts = Self.labelStarts(of: name)
        let suffixLabels = publicSuffixLabels(of: name, labelStarts: starts)
        guard starts.count > suffixLabels else { return name }
        return String(name[starts[starts.count - suffixLabels - 1]...])
    }
}
