//! Generates the DPDK bindings and compiles the fast-path shim.
//!
//! DPDK is found through `pkg-config libdpdk`, run here directly rather
//! than through the `pkg-config` crate: that crate drops `-include
//! rte_config.h` and `-march=corei7`, and without them the headers do not
//! describe the library Debian built (DPDK's structures and inline
//! functions depend on both). Every flag goes to bindgen (libclang) and to
//! `cc`, in order. Linking is dynamic: the drivers (`net_null`,
//! `net_pcap`, ...) are plugins the EAL loads by itself.
//!
//! Without the `bindings` feature this script does nothing and the crate
//! is empty (see Cargo.toml), so it builds where DPDK is not installed.

fn main() {
    #[cfg(feature = "bindings")]
    generate::main();
}

#[cfg(feature = "bindings")]
mod generate {
    use std::env;
    use std::path::PathBuf;
    use std::process::Command;

    fn pkg_config(args: &[&str]) -> Vec<String> {
        let exe = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
        let out = Command::new(&exe)
            .args(args)
            .arg("libdpdk")
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "rte-sys: cannot run `{exe}` ({e}); the `dpdk` feature needs DPDK's headers: \
                     apt-get install libdpdk-dev pkg-config clang libclang-dev"
                )
            });
        if !out.status.success() {
            panic!(
                "rte-sys: `{exe} {} libdpdk` failed: {}the `dpdk` feature needs DPDK 22.11: \
                 apt-get install libdpdk-dev pkg-config clang libclang-dev",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8(out.stdout)
            .expect("pkg-config output is UTF-8")
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    #[cfg(feature = "bindings")]
    pub fn main() {
        println!("cargo:rerun-if-changed=wrapper.h");
        println!("cargo:rerun-if-changed=shim/shim.h");
        println!("cargo:rerun-if-changed=shim/shim.c");
        println!("cargo:rerun-if-env-changed=PKG_CONFIG");
        println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

        let cflags = pkg_config(&["--cflags"]);
        let libs = pkg_config(&["--libs"]);
        let version = pkg_config(&["--modversion"]);
        println!(
            "cargo:rustc-env=RTE_SYS_DPDK_VERSION={}",
            version.first().map_or("unknown", String::as_str)
        );

        // The shim: DPDK's static-inline fast path, out of line.
        let mut shim = cc::Build::new();
        shim.file("shim/shim.c")
            .include("shim")
            .opt_level(3)
            .warnings(true);
        for f in &cflags {
            shim.flag(f);
        }
        shim.compile("rte_shim");

        // Link the EAL and libraries dynamically, plus the ring PMD, whose
        // rte_eth_from_rings() makes port pairs out of rings.
        for f in &libs {
            if let Some(dir) = f.strip_prefix("-L") {
                println!("cargo:rustc-link-search=native={dir}");
            } else if let Some(lib) = f.strip_prefix("-l") {
                println!("cargo:rustc-link-lib=dylib={lib}");
            }
        }
        println!("cargo:rustc-link-lib=dylib=rte_net_ring");
        println!("cargo:rustc-link-lib=dylib=rte_bus_vdev");

        let bindings = bindgen::Builder::default()
            .header("wrapper.h")
            .clang_args(&cflags)
            .allowlist_function("rte_eal_.*")
            .allowlist_function("rte_eth_.*")
            .allowlist_function("rte_pktmbuf_.*")
            .allowlist_function("rte_mbuf_.*")
            .allowlist_function("rte_mempool_.*")
            .allowlist_function("rte_ring_.*")
            .allowlist_function("rte_dev_.*")
            .allowlist_function("rte_vdev_.*")
            .allowlist_function("rte_thread_(un)?register")
            .allowlist_function("rte_socket_id")
            .allowlist_function("rte_strerror")
            .allowlist_function("rte_lcore_.*")
            .allowlist_function("rte_openlog_stream")
            .allowlist_function("rte_log_get_stream")
            .allowlist_function("shim_.*")
            .allowlist_type("rte_mbuf")
            .allowlist_type("rte_eth_.*")
            .allowlist_var("RTE_.*")
            .allowlist_var("SOCKET_ID_ANY")
            .allowlist_var("LCORE_ID_ANY")
            .allowlist_var("RING_F_.*")
            // libclang 14: the derived Debug of this one does not compile.
            .no_debug("rte_flow_item_gtp_psc")
            // RTE_BIT64()-style constants (offload and RSS flags) need clang to
            // evaluate them.
            .clang_macro_fallback()
            .derive_default(true)
            .layout_tests(true)
            .prepend_enum_name(false)
            .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
            .generate()
            .expect("rte-sys: bindgen failed on DPDK's headers");
        let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("bindings.rs");
        bindings
            .write_to_file(&out)
            .expect("rte-sys: cannot write bindings.rs");
    }
}
