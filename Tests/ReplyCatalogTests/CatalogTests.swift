import ReplyCatalog
import Testing

@Suite struct CatalogTests {
    @Test func everyFTPCodeOfTheSourcesIsThere() {
        let ftp = Catalog.all.filter { $0.protocol == .ftp }.map(\.code)
        let expected = ["110", "120", "125", "150", "200", "202", "211", "212", "213", "214", "215", "220", "221", "225",
                        "226", "227", "230", "250", "257", "331", "332", "350", "421", "425", "426", "450", "451", "452",
                        "500", "501", "502", "503", "504", "530", "532", "550", "551", "552", "553", "631", "632", "633"]
        #expect(ftp == expected)
        #expect(Catalog.all.allSatisfy { !$0.chinese.isEmpty && !$0.english.isEmpty })
    }

    @Test func textsComeFromTheSources() {
        #expect(Catalog.ftp(227)?.chinese == "进入被动模式 (h1,h2,h3,h4,p1,p2)。")
        #expect(Catalog.ftp(530)?.cause?.hasPrefix("该状态代码表示用户无法登录") == true)
        #expect(Catalog.ftp(229) == nil && Catalog.ftp(534) == nil && Catalog.ftp(299) == nil)
        #expect(Catalog.lookup(.http, "403.14")?.chinese == "拒绝目录列表。")
        #expect(Catalog.lookup(.http, "429") != nil, "only one source lists 429")
        #expect(Catalog.lookup(.websocket, "1006")?.name == "CLOSE_ABNORMAL")
        #expect(Catalog.lookup(.websocket, "4500")?.code == "4000-4999")
        // Where sources disagree the fuller text wins: 1014 is cut short in one source.
        #expect(Catalog.lookup(.websocket, "1014")?.chinese == "由 WebSocket 标准保留以便未来使用。")
    }

    @Test func classesAndGroups() {
        #expect(ReplyClass(code: 450) == .transientNegative && ReplyClass(code: 632) == .protected && ReplyClass(code: 700) == nil)
        #expect(FunctionGroup(code: 257) == .filesystem && FunctionGroup(code: 331) == .authentication && FunctionGroup(code: 227) == .connections)
    }
}
