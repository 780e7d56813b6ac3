// Every stage that speaks of endpoints gets the address types with the capture layer.
@_exported import NetworkAddress
