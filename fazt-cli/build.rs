//! Makes the startup snapshot script runtimes are restored from, and leaves
//! it in OUT_DIR for `main` to compile in (`fazt run` runs one script, and
//! making the snapshot at run time costs more than the runtime it saves).
//! It is built by this same version of fazt-js, so it matches the runtime
//! the executable restores.

fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("startup.snap");
    let snapshot = fazt_js::make_startup_snapshot().expect("the engine could not make a snapshot");
    std::fs::write(&out, snapshot).expect("could not write the snapshot to OUT_DIR");
    println!("cargo:rerun-if-changed=build.rs");
}
