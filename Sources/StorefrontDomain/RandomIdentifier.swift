import Foundation

/// Random identifiers: 128 bits, hex, visible ASCII as the transport requires.
public func randomIdentifier(prefix: String) -> String {
    var generator = SystemRandomNumberGenerator()
    let words = (0..<2).map { _ in generator.next() as UInt64 }
    return prefix + words.map { String(format: "%016llx", $0) }.joined()
}
