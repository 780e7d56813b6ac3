import Foundation
@testable import TLSDecryption
import Testing

/// The key log file of a live capture: a client appends a line for each connection it makes,
/// and ftpscope reads what was appended when a connection's secrets are missing.
@Suite struct KeyLogSourceTests {
    static func random(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: 32) }
    static func line(_ byte: UInt8, _ secret: String) -> String {
        "CLIENT_RANDOM \(String(repeating: String(format: "%02x", byte), count: 32)) \(secret)\n"
    }

    static func temporaryLog(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("keylog-\(UInt64.random(in: 0...UInt64.max)).keys").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    static func append(_ text: String, to path: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// Only what was appended is read: a line already read and written over in place since
    /// (which no client does) keeps the secret it had, and a line being written is read once
    /// it is whole.
    @Test func readsWhatWasAppendedOnly() throws {
        let path = try Self.temporaryLog(Self.line(1, "0a"))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = try TLSKeyLogSource(path: path)
        #expect(source.secrets(clientRandom: Self.random(1))?.master == [0x0A])
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Data(Self.line(1, "0b").utf8))  // same length, same place
        try handle.close()
        try Self.append(Self.line(2, "02") + "CLIENT_RANDOM " + String(repeating: "03", count: 32) + " 03", to: path)
        Thread.sleep(forTimeInterval: 0.06)
        #expect(source.secrets(clientRandom: Self.random(2))?.master == [0x02])
        #expect(source.secrets(clientRandom: Self.random(1))?.master == [0x0A])
        #expect(source.secrets(clientRandom: Self.random(3)) == nil)
        try Self.append("04\n", to: path)
        Thread.sleep(forTimeInterval: 0.06)
        #expect(source.secrets(clientRandom: Self.random(3))?.master == [0x03, 0x04])
    }

    /// A log that shrank, was written over with other lines or replaced by another file is
    /// read again from its start.
    @Test func readsAgainALogThatIsNoLongerTheOneRead() throws {
        let path = try Self.temporaryLog(Self.line(1, "01") + Self.line(2, "02"))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = try TLSKeyLogSource(path: path)
        #expect(source.connections == 2)
        // Shorter: read again whole.
        try Self.line(4, "04").write(toFile: path, atomically: false, encoding: .utf8)
        Thread.sleep(forTimeInterval: 0.06)
        #expect(source.secrets(clientRandom: Self.random(4))?.master == [0x04])
        #expect(source.connections == 1)
        // Longer, but no longer ending a line where the last reading ended.
        let longer = "# " + Self.line(5, "05") + Self.line(6, "06")
        let cut = Self.line(4, "04").utf8.count
        #expect(Array(longer.utf8)[cut - 1] != 0x0A)
        try longer.write(toFile: path, atomically: false, encoding: .utf8)
        Thread.sleep(forTimeInterval: 0.06)
        #expect(source.secrets(clientRandom: Self.random(6))?.master == [0x06])
        #expect(source.connections == 1)
        // Another file in its place (a new inode), longer than what was read.
        try (Self.line(7, "07") + Self.line(8, "08") + Self.line(9, "09")).write(toFile: path, atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: 0.06)
        #expect(source.secrets(clientRandom: Self.random(7))?.master == [0x07])
        #expect(source.connections == 3)
    }

    /// A log that cannot be read again (here a directory now stands at its path) keeps the
    /// secrets read before.
    @Test func keepsWhatWasReadWhenTheLogCannotBeReadAgain() throws {
        let path = try Self.temporaryLog(Self.line(1, "01"))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = try TLSKeyLogSource(path: path)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        Thread.sleep(forTimeInterval: 0.06)
        #expect(source.secrets(clientRandom: Self.random(2)) == nil)
        #expect(source.secrets(clientRandom: Self.random(1))?.master == [0x01])
    }
}
