/// TCP header flags, as on the wire.
public struct TCPFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)
}

/// One decoded TCP segment. `payload` borrows the capture buffer and is valid only for
/// the duration of the callback that receives it: nothing is copied on the hot path.
public struct TCPSegment {
    public var source: Endpoint
    public var destination: Endpoint
    public var sequence: UInt32
    public var acknowledgment: UInt32
    public var flags: TCPFlags
    public var payload: UnsafeRawBufferPointer
    /// Payload bytes the IP header promised but the snap length cut off; they are a gap, not data.
    public var missingPayload: Int

    public init(source: Endpoint, destination: Endpoint, sequence: UInt32, acknowledgment: UInt32,
                flags: TCPFlags, payload: UnsafeRawBufferPointer, missingPayload: Int = 0) {
        self.source = source; self.destination = destination
        self.sequence = sequence; self.acknowledgment = acknowledgment
        self.flags = flags; self.payload = payload; self.missingPayload = missingPayload
    }
}
