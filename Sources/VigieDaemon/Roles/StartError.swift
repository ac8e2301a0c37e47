/// A role cannot start with this configuration for a reason the configuration
/// check cannot see alone (e.g. a sign role asked to run while the submission role
/// signs); printed as is and the daemon exits 1.
struct StartError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
