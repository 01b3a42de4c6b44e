//! EAL start-up errors, in a process of their own (the EAL starts once per
//! process): a bad argument is a clear error, never an exit or a crash.

#![cfg(feature = "dpdk")]

use pmd::drivers::dpdk::{eal_init, eal_running, register_thread, DpdkError, DpdkPool, EalConfig};

fn cfg(lcores: &[usize], args: &[&str]) -> EalConfig {
    EalConfig {
        lcores: lcores.to_vec(),
        no_huge: true,
        memory_mb: Some(256),
        file_prefix: Some(format!("weir-test-bad-{}", std::process::id())),
        args: args.iter().map(|s| s.to_string()).collect(),
        ..EalConfig::default()
    }
}

#[test]
fn bad_eal_arguments_are_clear_errors() {
    // Before the EAL: nothing DPDK can be made.
    assert_eq!(
        DpdkPool::new("early", 63, 2048, 0, -1).unwrap_err(),
        DpdkError::EalNotRunning
    );
    assert_eq!(register_thread().unwrap_err(), DpdkError::EalNotRunning);

    // weir's own checks: --help would make DPDK exit the process, and a
    // worker core that does not exist. DPDK is not called, so the EAL may
    // still start after these.
    for help in ["--help", "-h", "--he", "-vh"] {
        let e = eal_init(&cfg(&[], &[help])).unwrap_err();
        println!("{e}");
        assert!(
            matches!(&e, DpdkError::Eal { errno: 0, message, .. } if message.contains(help)),
            "{e}"
        );
    }
    let e = eal_init(&cfg(&[0, 9999], &["--no-pci"])).unwrap_err();
    println!("{e}");
    assert!(e.to_string().contains("lcore 9999"), "{e}");
    assert!(!eal_running());

    // An option DPDK does not know: rte_eal_init returns -1, no exit.
    let e = eal_init(&cfg(&[], &["--no-pci", "--bogus-option"])).unwrap_err();
    println!("{e}");
    match &e {
        DpdkError::Eal {
            args,
            errno,
            message,
        } => {
            assert_eq!(args.last().map(String::as_str), Some("--bogus-option"));
            assert_eq!(*errno, libc::EINVAL);
            assert_eq!(message, "Invalid argument");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string()
            .starts_with("dpdk: EAL initialisation failed: Invalid argument (rte_errno 22); EAL arguments: `weir -l "),
        "{e}"
    );
    assert!(!eal_running());

    // DPDK keeps part of a failed attempt's state: no second try.
    let e = eal_init(&cfg(&[], &["--no-pci"])).unwrap_err();
    println!("{e}");
    assert!(
        matches!(&e, DpdkError::EalFailed(first) if first.contains("--bogus-option")),
        "{e}"
    );
    assert!(e.to_string().contains("restart"), "{e}");
    assert_eq!(
        DpdkPool::new("late", 63, 2048, 0, -1).unwrap_err(),
        DpdkError::EalNotRunning
    );
}
