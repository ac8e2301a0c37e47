internal import CSPF2
import VigieDNS
#if canImport(Glibc)
import Glibc
#endif

/// libspf2's DNS layer (`SPF_dns_server_t`) answered by Vigie's `DNSResolver`
/// instead of libspf2's own `res_*`-based resolver, so SPF shares the resolver,
/// cache and timeouts of DKIM.
///
/// libspf2 calls `lookup` from whatever thread runs the check; the layer holds
/// only the resolver (itself thread-safe), so one layer serves every thread.
final class SPFDNSLayer {
    let layer: UnsafeMutablePointer<SPF_dns_server_t>
    private let resolver: Unmanaged<DNSResolver>

    init(resolver: DNSResolver) {
        self.resolver = Unmanaged.passRetained(resolver)
        layer = UnsafeMutablePointer<SPF_dns_server_t>.allocate(capacity: 1)
        layer.initialize(to: SPF_dns_server_t())
        layer.pointee.destroy = nil // freed by deinit, not by SPF_dns_free
        layer.pointee.lookup = spfDNSLookup
        layer.pointee.get_spf = nil
        layer.pointee.get_exp = nil
        layer.pointee.add_cache = nil
        layer.pointee.layer_below = nil
        layer.pointee.name = UnsafePointer(strdup("vigie"))
        layer.pointee.debug = 0
        layer.pointee.hook = self.resolver.toOpaque()
    }

    deinit {
        free(UnsafeMutableRawPointer(mutating: layer.pointee.name))
        layer.deinitialize(count: 1)
        layer.deallocate()
        resolver.release()
    }
}

// netdb.h h_errno values, as libspf2 reads them from `SPF_dns_rr_t.herrno`.
private let netdbSuccess: Int32 = 0   // NETDB_SUCCESS
private let hostNotFound: Int32 = 1   // HOST_NOT_FOUND
private let tryAgain: Int32 = 2       // TRY_AGAIN
private let noData: Int32 = 4         // NO_DATA

/// The C trampoline libspf2 calls (`SPF_dns_lookup_t`). It must return an RR set
/// in every case: libspf2 treats NULL as an internal error.
private func spfDNSLookup(server: UnsafeMutablePointer<SPF_dns_server_t>?, domain: UnsafePointer<CChar>?,
                          type: ns_type, shouldCache: Int32) -> UnsafeMutablePointer<SPF_dns_rr_t>? {
    guard let server, let hook = server.pointee.hook else { return nil }
    let resolver = Unmanaged<DNSResolver>.fromOpaque(hook).takeUnretainedValue()
    let name = domain.map { String(cString: $0) } ?? ""
    func empty(_ herrno: Int32) -> UnsafeMutablePointer<SPF_dns_rr_t>? {
        // new_init copies the name; a NULL name (never seen) becomes "".
        guard let domain else { return "".withCString { SPF_dns_rr_new_init(server, $0, type, 0, herrno) } }
        return SPF_dns_rr_new_init(server, domain, type, 0, herrno)
    }
    guard let recordType = DNSRecordType(rawValue: UInt16(truncatingIfNeeded: type.rawValue)) else { return empty(noData) }
    let answer: DNSAnswer
    switch resolver.lookup(name, recordType) {
    case .failure(.invalidName):
        return empty(hostNotFound)
    case .failure:
        return empty(tryAgain)
    case .success(let a):
        answer = a
    }
    let isRecordLookup = recordType == .txt || recordType == .spf
    switch answer.status {
    case .nameDoesNotExist:
        SPFVoidLookups.recordVoid(name: name, isRecordLookup: isRecordLookup)
        return empty(hostNotFound)
    case .noData:
        SPFVoidLookups.recordVoid(name: name, isRecordLookup: isRecordLookup)
        return empty(noData)
    case .records: break
    }
    guard let rr = SPF_dns_rr_new_init(server, domain, type, Int32(clamping: answer.ttl), netdbSuccess) else { return nil }
    var count: Int32 = 0
    for record in answer.records {
        let bytes: [UInt8]
        switch record.data {
        case .ipv4(let b), .ipv6(let b): bytes = b
        case .text(let strings): bytes = strings.flatMap { $0.map { $0 == 0 ? 0x20 : $0 } } + [0]
        case .domainName(let n): bytes = Array(n.utf8) + [0]
        case .mx(_, let exchange): bytes = Array(exchange.utf8) + [0]
        case .other: continue
        }
        let size = max(bytes.count, MemoryLayout<SPF_dns_rr_data_t>.size)
        guard SPF_dns_rr_buf_realloc(rr, count, size) == SPF_E_SUCCESS, let slot = rr.pointee.rr[Int(count)] else { break }
        UnsafeMutableRawPointer(slot).copyMemory(from: bytes, byteCount: bytes.count)
        count += 1
    }
    rr.pointee.num_rr = count
    if count == 0 { rr.pointee.herrno = noData }
    return rr
}
