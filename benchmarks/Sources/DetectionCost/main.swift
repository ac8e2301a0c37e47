// The cost of the suspicion score on the policy's hot path (issue 10): check +
// commit of one message with detection off (today's path) and on (the shipped
// [detection], the signals built from text as the glue builds them), in one
// process, rounds interleaved, medians. Prints one JSON object.
//   DetectionCost [ACCOUNTS] [ROUNDS]
// The figure to quote is the ratio: both sides share the machine's noise.

import BenchSupport
import Foundation
import VigieCore

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10_000 : 10_000
let rounds = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 15 : 15
let perRound = 200_000
let names = BenchPolicy.accounts(count)
// The shipped shape (every window and the burst rule evaluated) with maxima no
// round reaches, so every message runs the whole accepted path.
let plain = BenchPolicy.policy(BenchPolicy.settings(burst: true))
let scored: SendPolicy = {
    var settings = BenchPolicy.settings(burst: true)
    settings.detection = DetectionSettings()
    return BenchPolicy.policy(settings)
}()
let clients = ["82.64.10.7", "2a01:e0a:1f2:3c40::12", "203.0.113.9", "92.184.100.1"]
let recipients = (0..<16).map { "<friend\($0)@example.org>" }

func round(_ detection: Bool, _ offset: Int) -> Double {
    let started = ContinuousClock.now
    var accepted = 0
    for i in 0..<perRound {
        let n = i &+ offset
        let account = names[n % count]
        let ok = detection
            ? BenchPolicy.sendWithSignals(scored, account, queueID: "4ZXQ1B2C3D", client: clients[n & 3], recipient: recipients[n & 15])
            : BenchPolicy.send(plain, account, queueID: "4ZXQ1B2C3D")
        if ok { accepted &+= 1 }
    }
    let elapsed = ContinuousClock.now - started
    precondition(accepted > 0)
    return Double(elapsed.components.attoseconds) / 1e9 + Double(elapsed.components.seconds) * 1e9
}

// Warm both (entries created, limits cached), then alternate.
_ = round(false, 0); _ = round(true, 0)
var off: [Double] = [], on: [Double] = []
for r in 0..<rounds {
    off.append(round(false, r * perRound) / Double(perRound))
    on.append(round(true, r * perRound) / Double(perRound))
}
func median(_ values: [Double]) -> Double { let sorted = values.sorted(); return sorted[sorted.count / 2] }
let ratio = median(on) / median(off)
print(String(format: "{\"accounts\": %d, \"rounds\": %d, \"off_ns_per_message\": %.1f, \"on_ns_per_message\": %.1f, \"ratio\": %.3f, \"load_average\": \"%@\"}",
             count, rounds, median(off), median(on), ratio,
             ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")))
