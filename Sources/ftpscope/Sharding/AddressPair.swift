import PacketCapture

/// Which analyzer owns a connection: a hash of its two addresses that does not depend on
/// direction, so both directions, and data connections between the same hosts, agree.
enum AddressPair {
    static func hash(_ a: IPAddress, _ b: IPAddress) -> UInt64 {
        murmurMix(word(a)) &+ murmurMix(word(b))
    }

    private static func word(_ a: IPAddress) -> UInt64 {
        switch a {
        case .v4(let v): UInt64(v)
        case .v6(let hi, let lo): hi ^ (lo &* 0x9E37_79B9_7F4A_7C15) ^ 1 << 63
        }
    }
}
