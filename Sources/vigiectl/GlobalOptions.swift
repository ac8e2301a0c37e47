import ArgumentParser
import Foundation
import VigieConfig
import VigieControl

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Vigie configuration file (to find the control socket).")
    var config: String = "/etc/vigie/vigie.toml"

    @Option(name: .long, help: "Control socket path (overrides the configuration).")
    var socket: String?

    @Flag(name: .long, help: "Print JSON instead of tables.")
    var json = false

    /// The configuration, when it loads (hold/release/purge need [postfix]).
    func loadConfiguration() throws -> VigieConfiguration {
        do {
            return try ConfigLoader.load(path: config)
        } catch {
            throw CleanExit.failure("cannot read \(config): \(error)")
        }
    }

    /// The control socket: --socket, else the configuration's, read leniently so a
    /// broken conf.d file still lets `vigiectl reload` ask the daemon what is wrong.
    func client() throws -> ControlClient {
        if let socket { return ControlClient(socketPath: socket) }
        guard FileManager.default.isReadableFile(atPath: config) else {
            throw CleanExit.failure("cannot read \(config): \(FileManager.default.fileExists(atPath: config) ? "permission denied" : "no such file"); give --config FILE or --socket PATH")
        }
        return ControlClient(socketPath: ConfigLoader.controlSocketPath(configPath: config) ?? "/run/vigie/control.sock")
    }

    /// Sends a request; a failure becomes a one-line error and exit status 1.
    func send(_ request: ControlRequest) throws -> ControlResponse {
        do {
            return try client().send(request)
        } catch let failure as ControlClient.Failure {
            throw CleanExit.failure(failure.description)
        }
    }

    /// Sends a request and takes the one kind of answer it must get (`pick`); any
    /// other answer is a protocol error, said in one line.
    func send<Answer>(_ request: ControlRequest, expecting pick: (ControlResponse) -> Answer?) throws -> Answer {
        let response = try send(request)
        guard let answer = pick(response) else {
            throw CleanExit.failure("the daemon gave an unexpected answer to \(request.command)")
        }
        return answer
    }

    func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

/// An error printed as one line, exiting non-zero without usage text.
enum CleanExit {
    static func failure(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("vigiectl: \(message)\n".utf8))
        return ExitCode(1)
    }
}
