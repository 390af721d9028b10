import Foundation
import XCTest

import SipSimple

/// How long any expected notification may take to arrive.
private let timeout: TimeInterval = 10

private struct NotificationTimeout: Error, CustomStringConvertible {
    let description: String
}

/// Records the notifications it observes and lets the test wait for them, in
/// delivery order, with a timeout.
private final class Recorder: NotificationObserver, @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [SipSimple.Notification] = []
    private var consumed: [String] = []

    func handleNotification(notification: SipSimple.Notification) {
        condition.lock()
        queue.append(notification)
        condition.signal()
        condition.unlock()
    }

    /// Consumes notifications until one named `name` matching `predicate` arrives.
    func next(
        _ name: String,
        where predicate: (SipSimple.Notification) -> Bool = { _ in true }
    ) throws -> SipSimple.Notification {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            while queue.isEmpty {
                if !condition.wait(until: deadline) {
                    throw NotificationTimeout(description: "no \(name) within \(timeout) s; got \(consumed)")
                }
            }
            let n = queue.removeFirst()
            consumed.append(n.name)
            if n.name == name && predicate(n) {
                return n
            }
        }
    }

    /// Everything delivered and not consumed yet (call after a flush).
    func pending() -> [SipSimple.Notification] {
        condition.lock()
        defer { condition.unlock() }
        let all = queue
        queue.removeAll()
        return all
    }
}

/// An observer that always fails: the others must still be served.
private final class FailingObserver: NotificationObserver, @unchecked Sendable {
    struct Failure: Error {}
    func handleNotification(notification: SipSimple.Notification) throws {
        throw Failure()
    }
}

/// The notification's data as a dictionary.
private func data(_ n: SipSimple.Notification) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(n.dataJson.utf8))
    return try XCTUnwrap(object as? [String: Any])
}

/// The handle stored in the data field `key` (an object reference), if any.
private func handle(of key: String, in n: SipSimple.Notification) -> UInt64? {
    guard let d = try? data(n), let ref = d[key] as? [String: Any], let h = ref["handle"] as? NSNumber else {
        return nil
    }
    return h.uint64Value
}

/// Asserts that `body` throws the `SipSimpleError` `matching` accepts.
private func assertThrowsSipSimpleError<T>(
    _ body: @autoclosure () throws -> T,
    _ matching: (SipSimpleError) -> Bool,
    file: StaticString = #filePath,
    line: UInt = #line
) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        guard let e = error as? SipSimpleError else {
            return XCTFail("unexpected error \(error)", file: file, line: line)
        }
        XCTAssertTrue(matching(e), "unexpected error \(e)", file: file, line: line)
    }
}

final class SpineTests: XCTestCase {
    private let app = SipApplication()
    private let center = NotificationCenter()
    private var tokens: [ObserverToken] = []
    private var directories: [URL] = []

    private func record(name: String? = nil, sender: UInt64? = nil) -> Recorder {
        let recorder = Recorder()
        tokens.append(center.addObserver(observer: recorder, name: name, sender: sender))
        return recorder
    }

    private func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("sipsimple-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        directories.append(dir)
        return dir
    }

    private func startAndWait(_ storage: Storage) throws {
        let recorder = record(name: "SIPApplicationDidStart")
        try app.start(storage: storage)
        _ = try recorder.next("SIPApplicationDidStart")
    }

    private func stopAndWait() throws {
        let recorder = record(name: "SIPApplicationDidEnd")
        try app.stop()
        _ = try recorder.next("SIPApplicationDidEnd")
    }

    override func tearDownWithError() throws {
        if app.running() {
            try stopAndWait()
        }
        tokens.forEach { $0.cancel() }
        tokens.removeAll()
        for dir in directories {
            try? FileManager.default.removeItem(at: dir)
        }
        directories.removeAll()
    }

    func testStartAddAccountChangeSettingStopRestartAndFindItAgain() throws {
        let dir = try temporaryDirectory()
        let events = record()
        try app.start(storage: Storage.file(directory: dir.path))
        XCTAssertTrue(app.running())
        let willStart = try events.next("SIPApplicationWillStart")
        XCTAssertEqual(willStart.sender?.handle, app.handle())
        XCTAssertEqual(willStart.sender?.kind, "SIPApplication")
        let didStart = try events.next("SIPApplicationDidStart")
        XCTAssertGreaterThanOrEqual(didStart.timestamp, willStart.timestamp)

        let account = try Account(id: "alice@example.com")
        XCTAssertEqual(account.username(), "alice")
        XCTAssertEqual(account.domain(), "example.com")
        XCTAssertEqual(try account.uri(), "sip:alice@example.com")
        XCTAssertFalse(AccountManager().hasAccount(id: "alice@example.com"), "not saved yet")
        try account.setSetting(path: "enabled", valueJson: "true")
        try account.save()
        _ = try events.next("CFGSettingsObjectWasCreated") { $0.sender?.handle == account.handle() }
        let added = try events.next("SIPAccountManagerDidAddAccount") {
            handle(of: "account", in: $0) == account.handle()
        }
        XCTAssertEqual(added.sender?.handle, AccountManager().handle())
        XCTAssertTrue(AccountManager().hasAccount(id: "alice@example.com"))
        XCTAssertEqual(try AccountManager().getAccount(id: "alice@example.com"), account)

        try AccountManager().setDefaultAccount(account: account)
        XCTAssertEqual(AccountManager().defaultAccount(), account)

        XCTAssertEqual(try account.getSetting(path: "sip.register_interval"), "600")
        try account.setSetting(path: "sip.register_interval", valueJson: "300")
        try account.save()
        let changed = try events.next("CFGSettingsObjectDidChange") { $0.sender?.handle == account.handle() }
        let modified = try XCTUnwrap(try data(changed)["modified"] as? [String: Any])
        XCTAssertEqual(Array(modified.keys), ["sip.register_interval"])
        let change = try XCTUnwrap(modified["sip.register_interval"] as? [String: Any])
        XCTAssertEqual(change["old"] as? Int, 600)
        XCTAssertEqual(change["new"] as? Int, 300)

        try app.stop()
        _ = try events.next("SIPApplicationWillEnd")
        _ = try events.next("SIPApplicationDidEnd")
        XCTAssertFalse(app.running())

        try app.start(storage: Storage.file(directory: dir.path))
        _ = try events.next("SIPApplicationDidStart")
        let again = try AccountManager().getAccount(id: "alice@example.com")
        XCTAssertEqual(try again.getSetting(path: "sip.register_interval"), "300")
        XCTAssertEqual(AccountManager().findAccount(uri: "sip:alice@example.com"), again)
        XCTAssertEqual(AccountManager().defaultAccount(), again)

        // The object from before the restart is stale, not redirected.
        XCTAssertNotEqual(account, again)
        assertThrowsSipSimpleError(try account.getSetting(path: "sip.register_interval")) {
            if case .InvalidHandle = $0 { return true } else { return false }
        }
        XCTAssertEqual(account.id(), "alice@example.com")

        try stopAndWait()
    }

    func testInvalidSettingValueIsRefusedAndOldValueKept() throws {
        try startAndWait(Storage.memory())
        let account = try Account(id: "bob@example.com")
        try account.setSetting(path: "sip.register_interval", valueJson: "300")
        assertThrowsSipSimpleError(try account.setSetting(path: "sip.register_interval", valueJson: "\"soon\"")) {
            if case .InvalidSetting(let setting, _) = $0 { return setting == "sip.register_interval" }
            return false
        }
        XCTAssertEqual(try account.getSetting(path: "sip.register_interval"), "300")
        assertThrowsSipSimpleError(try account.setSetting(path: "sip.register_interval", valueJson: "not json")) {
            if case .InvalidArgument = $0 { return true } else { return false }
        }
        assertThrowsSipSimpleError(try account.getSetting(path: "sip.no_such_setting")) {
            if case .NotFound = $0 { return true } else { return false }
        }

        let settings = SipSimpleSettings()
        let port = try settings.getSetting(path: "sip.udp_port")
        assertThrowsSipSimpleError(try settings.setSetting(path: "sip.udp_port", valueJson: "70000")) {
            if case .InvalidSetting(let setting, _) = $0 { return setting == "sip.udp_port" }
            return false
        }
        XCTAssertEqual(try settings.getSetting(path: "sip.udp_port"), port)
    }

    func testStartingTwiceAndStoppingTwiceAreInvalidStates() throws {
        try startAndWait(Storage.memory())
        assertThrowsSipSimpleError(try app.start(storage: Storage.memory())) {
            if case .InvalidState = $0 { return true } else { return false }
        }
        XCTAssertTrue(app.running())

        let ended = record(name: "SIPApplicationDidEnd")
        try app.stop()
        assertThrowsSipSimpleError(try app.stop()) {
            if case .InvalidState = $0 { return true } else { return false }
        }
        _ = try ended.next("SIPApplicationDidEnd")
        XCTAssertFalse(app.running())
    }

    func testCorruptConfigurationFileMakesStartFailWithFileAndLine() throws {
        let dir = try temporaryDirectory()
        let config = dir.appendingPathComponent("config")
        let broken = "SIPSimpleSettings:\n    user_agent = test\n    this line has no separator\n"
        try broken.write(to: config, atomically: true, encoding: .utf8)

        assertThrowsSipSimpleError(try app.start(storage: Storage.file(directory: dir.path))) {
            if case .ConfigurationFile(let path, let line, _) = $0 {
                return path.hasSuffix("/config") && line == 3
            }
            return false
        }
        XCTAssertFalse(app.running())
        XCTAssertEqual(try String(contentsOf: config, encoding: .utf8), broken, "the file is left untouched")

        try "SIPSimpleSettings:\n    user_agent = test\n".write(to: config, atomically: true, encoding: .utf8)
        try startAndWait(Storage.file(directory: dir.path))
        XCTAssertEqual(try SipSimpleSettings().getSetting(path: "user_agent"), "\"test\"")
    }

    func testApplicationsPostNotificationsAndObserversAreIsolated() throws {
        try startAndWait(Storage.memory())
        let account = try Account(id: "carol@example.com")
        try account.save()

        let all = record(name: "AppDidSomething")
        let fromAccount = record(sender: account.handle())
        tokens.append(center.addObserver(observer: FailingObserver(), name: "AppDidSomething", sender: nil))
        let cancelled = Recorder()
        let token = center.addObserver(observer: cancelled, name: "AppDidSomething", sender: nil)

        try center.postNotification(name: "AppDidSomething", sender: account.handle(), dataJson: "{\"count\": 1}")
        let n = try all.next("AppDidSomething")
        XCTAssertEqual(n.sender?.handle, account.handle())
        XCTAssertEqual(n.sender?.id, "carol@example.com")
        XCTAssertEqual(try data(n)["count"] as? Int, 1)
        _ = try fromAccount.next("AppDidSomething")
        _ = try cancelled.next("AppDidSomething")

        token.cancel()
        XCTAssertFalse(token.isActive())
        try center.postNotification(name: "AppDidSomething", sender: nil, dataJson: nil)
        XCTAssertTrue(center.flush(timeoutMs: UInt32(timeout * 1000)))
        XCTAssertTrue(cancelled.pending().isEmpty, "a cancelled observer gets nothing")
        let anonymous = all.pending()
        XCTAssertEqual(anonymous.count, 1, "the failing observer did not stop delivery")
        XCTAssertNil(anonymous.first?.sender)
        XCTAssertTrue(fromAccount.pending().isEmpty, "sender filter")

        assertThrowsSipSimpleError(try center.postNotification(name: "X", sender: nil, dataJson: "[1, 2]")) {
            if case .InvalidArgument = $0 { return true } else { return false }
        }
        assertThrowsSipSimpleError(try center.postNotification(name: "X", sender: 12345, dataJson: nil)) {
            if case .InvalidHandle = $0 { return true } else { return false }
        }
    }
}
