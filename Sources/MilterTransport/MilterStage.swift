/// The protocol stages a filter may ask the MTA for.
///
/// Every stage asked for is a round trip the MTA pays on every message (Postfix's
/// smtpd and cleanup wait for each answer), so a filter names only what it needs and
/// the rest is negotiated away with `SMFIP_NO*` flags.
public enum MilterStage: Sendable, Hashable, CaseIterable {
    case connect        // xxfi_connect
    case helo           // xxfi_helo
    case envelopeFrom   // xxfi_envfrom
    case envelopeRecipient // xxfi_envrcpt
    case data           // xxfi_data
    case header         // xxfi_header
    case endOfHeaders   // xxfi_eoh
    case body           // xxfi_body
    case endOfMessage   // xxfi_eom
}

extension MilterStage {
    /// This stage's bit in a set of stages kept in one integer.
    var noReplyBit: UInt { 1 << UInt(Self.allCases.firstIndex(of: self)!) }
}

/// Where in the SMTP dialogue a list of macros is asked for (`SMFIM_*`).
public enum MilterMacroStage: Int32, Sendable, Hashable {
    case connect = 0       // SMFIM_CONNECT
    case helo = 1          // SMFIM_HELO
    case envelopeFrom = 2  // SMFIM_ENVFROM
    case envelopeRecipient = 3 // SMFIM_ENVRCPT
    case data = 4          // SMFIM_DATA
    case endOfMessage = 5  // SMFIM_EOM
    case endOfHeaders = 6  // SMFIM_EOH
}

/// Actions a filter may take at end of message (`SMFIF_*`).
public struct MilterActions: OptionSet, Sendable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
    public static let addHeaders = MilterActions(rawValue: 0x01)    // SMFIF_ADDHDRS
    public static let changeBody = MilterActions(rawValue: 0x02)    // SMFIF_CHGBODY
    public static let addRecipients = MilterActions(rawValue: 0x04) // SMFIF_ADDRCPT
    public static let deleteRecipients = MilterActions(rawValue: 0x08) // SMFIF_DELRCPT
    public static let changeHeaders = MilterActions(rawValue: 0x10) // SMFIF_CHGHDRS
    public static let quarantine = MilterActions(rawValue: 0x20)    // SMFIF_QUARANTINE
    public static let changeFrom = MilterActions(rawValue: 0x40)    // SMFIF_CHGFROM
}
