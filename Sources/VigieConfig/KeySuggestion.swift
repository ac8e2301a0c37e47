/// "Did you mean ...?" for unknown keys.
enum KeySuggestion {
    /// The known key closest to `key`, if it is within `maximumDistance` edits
    /// (insertions, deletions, substitutions, swaps of two neighbours). Ties go to
    /// the first in `candidates`, which list keys in the order the docs show them.
    static func closest(to key: String, among candidates: [String], maximumDistance: Int = 2) -> String? {
        var best: (key: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(key.lowercased(), candidate)
            if distance <= maximumDistance, best == nil || distance < best!.distance {
                best = (candidate, distance)
            }
        }
        return best?.key
    }

    /// Optimal string alignment distance: Levenshtein plus adjacent transposition,
    /// so `pre_hour` is one edit from `per_hour`. Keys are short; inputs longer than
    /// 64 characters are not worth comparing and count as far.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.count > 64 || b.count > 64 { return Int.max }
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
