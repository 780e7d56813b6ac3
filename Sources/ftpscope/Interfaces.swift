import ArgumentParser
import PacketCapture

struct Interfaces: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the interfaces libpcap can capture on.")

    func run() throws {
        for i in PcapSource.listInterfaces() {
            var flags: [String] = []
            if i.isUp { flags.append("up") }
            if i.isLoopback { flags.append("loopback") }
            print("\(i.name)\t\(flags.joined(separator: ","))\t\(i.addresses.joined(separator: " "))\(i.description.map { "\t\($0)" } ?? "")")
        }
    }
}
