//! Link settings of the WebAssembly module.
//!
//! The shadow stack: 256 KiB instead of the toolchain's 1 MiB default, placed first in memory
//! so that an overflow traps (an out-of-bounds access below address 0) instead of overwriting
//! static data. The deepest recursion the engine and the bindings allow (values nested 64 deep,
//! through encoding, decoding and conversion) needs less than 64 KiB; the tests exercise it.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=262144");
        println!("cargo:rustc-link-arg-cdylib=--stack-first");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
