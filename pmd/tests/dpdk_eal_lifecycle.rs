//! The EAL's life in one process: start (after a refused configuration),
//! the same configuration again, a different one, a pool too large for
//! the memory, shutdown refused while a pool lives, then final.

#![cfg(feature = "dpdk")]

use pmd::drivers::dpdk::{
    eal_cleanup, eal_config, eal_init, eal_running, lcore_id, register_thread, DpdkError, DpdkPool,
    EalConfig,
};
use pmd::Pool;

#[test]
fn start_once_and_shut_down() {
    let good = EalConfig {
        no_huge: true,
        memory_mb: Some(256),
        file_prefix: Some(format!("weir-test-life-{}", std::process::id())),
        args: vec!["--no-pci".into()],
        ..EalConfig::default()
    };
    let refused = EalConfig {
        args: vec!["--help".into()],
        ..good.clone()
    };
    assert!(eal_init(&refused).is_err());
    eal_init(&good).expect("EAL starts after a configuration weir refused");
    assert!(eal_running());
    assert_eq!(eal_config(), Some(good.clone()));
    assert!(
        lcore_id().is_some(),
        "the starting thread is the main lcore"
    );
    let g = register_thread().unwrap();
    assert_eq!(Some(g.lcore_id()), lcore_id());
    drop(g);
    assert!(lcore_id().is_some(), "the main lcore stays");

    eal_init(&good).expect("same config again");
    let other = EalConfig {
        memory_mb: Some(128),
        ..good.clone()
    };
    let e = eal_init(&other).unwrap_err();
    println!("{e}");
    assert!(matches!(e, DpdkError::EalMismatch { .. }), "{e}");
    assert!(
        e.to_string().contains("-m 256") && e.to_string().contains("-m 128"),
        "{e}"
    );

    // A pool that cannot fit in 256 MB names the problem and the way out.
    let e = DpdkPool::new("huge", 1 << 20, 2048, 256, -1).unwrap_err();
    println!("{e}");
    assert!(matches!(e, DpdkError::Mempool { .. }), "{e}");
    assert!(e.to_string().contains("memory_mb"), "{e}");

    // Shutdown waits for pools.
    let pool = DpdkPool::new("p", 63, 2048, 0, -1).unwrap();
    let m = pool.alloc().unwrap();
    let e = eal_cleanup().unwrap_err();
    println!("{e}");
    assert!(matches!(e, DpdkError::EalBusy(_)), "{e}");
    drop(m);
    drop(pool);
    eal_cleanup().expect("cleanup");
    eal_cleanup().expect("cleanup is idempotent");
    assert!(!eal_running());
    assert_eq!(eal_init(&good).unwrap_err(), DpdkError::EalShutDown);
    assert_eq!(
        DpdkPool::new("after", 63, 2048, 0, -1).unwrap_err(),
        DpdkError::EalShutDown
    );
}
