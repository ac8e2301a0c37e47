// Resident memory per tracked account: RSS before and after 100k accounts (default)
// each send one message under the shipped limits. Prints one JSON object.
//   PolicyMemory [ACCOUNTS] [MESSAGES] [detection]
// With `detection`, the shipped [detection] is on and every message carries its
// signals (client address, recipient), as the daemon's glue passes them.
// With MESSAGES, then sends that many more messages round robin over the (warm)
// accounts: run it under `valgrind --tool=callgrind` with MESSAGES = 0 and N, and
// the difference of the instruction totals / N is the instructions per message
// (check + commit), a figure the machine's load does not change.

import BenchSupport
import Foundation
import VigieCore

func residentBytes() -> Int {
    // /proc/self/statm: size resident shared ... in pages.
    let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "0 0"
    let pages = Int(text.split(separator: " ")[1]) ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100_000 : 100_000
let names = BenchPolicy.accounts(count)  // built first: the names' own memory is not the policy's
let detection = CommandLine.arguments.count > 3 && CommandLine.arguments[3] == "detection"
let policy = BenchPolicy.policy(detection ? BenchPolicy.shippedWithDetection : BenchPolicy.shipped)
// What libmilter hands the glue: recipient strings that already exist.
let recipients = (0..<7).map { "<friend\($0)@example.org>" }
func send(_ account: AccountName, _ queueID: String, _ n: Int) -> Bool {
    guard detection else { return BenchPolicy.send(policy, account, queueID: queueID) }
    return BenchPolicy.sendWithSignals(policy, account, queueID: queueID, client: "82.64.10.7",
                                       recipient: recipients[n % 7])
}
_ = send(AccountName(normalized: "warmup"), "0", 0)
let before = residentBytes()
var accepted = 0
for (index, account) in names.enumerated() where send(account, "4ZXQ\(index)", index) { accepted += 1 }
let after = residentBytes()
let extra = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 0 : 0
for i in 0..<extra { _ = send(names[i % names.count], "4ZXQ1B2C3D", i) }
let delta = after - before
print("""
{"accounts": \(count), "detection": \(detection), "accepted": \(accepted), "rss_before_bytes": \(before), "rss_after_bytes": \(after), \
"rss_delta_bytes": \(delta), "bytes_per_account": \(delta / max(1, count)), "rss_total_mb": \(Double(after) / 1_048_576)}
""")
withExtendedLifetime((policy, names)) {}
