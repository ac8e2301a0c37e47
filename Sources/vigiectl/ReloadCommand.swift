import ArgumentParser
import VigieControl

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-read the configuration without a restart; a bad file is refused and the running one stays.")
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let response = try options.send(.reload)
        if options.json { return try options.printJSON(response) }
        print(response.line ?? "reloaded")
    }
}
