// swift-tools-version:5.9
//
// Swift package of libsipsimple: the generated uniffi binding (SipSimple)
// over the Rust library, shipped as an XCFramework (SipSimpleFFI) that
// build-xcframework.sh builds from the Rust workspace on macOS.

import PackageDescription

let package = Package(
    name: "SipSimple",
    platforms: [
        .iOS(.v15),
        .macOS(.v12),
    ],
    products: [
        .library(name: "SipSimple", targets: ["SipSimple"]),
    ],
    targets: [
        // libsipsimple.a for each platform plus the C interface of the uniffi
        // scaffolding (Sources/SipSimpleFFI/include: SipSimpleFFI.h and its
        // module map, packaged into every slice by build-xcframework.sh).
        .binaryTarget(
            name: "SipSimpleFFI",
            path: "SipSimpleFFI.xcframework"
        ),
        // The generated Swift API (bindings/generate.sh).
        .target(
            name: "SipSimple",
            dependencies: ["SipSimpleFFI"],
            path: "Sources/SipSimple"
        ),
        .testTarget(
            name: "SipSimpleTests",
            dependencies: ["SipSimple"],
            path: "Tests/SipSimpleTests"
        ),
    ]
)
