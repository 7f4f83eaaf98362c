//! The interpreter for the independent checkers in `docs/` (Python scripts an auditor can read).

use std::process::Command;

/// `python3` (or `python`) if this machine has one. Without one the check of `checker` is
/// skipped, loudly; in CI (`CI` set) a missing interpreter fails the test instead, since the
/// checkers must run there.
pub fn python(checker: &str) -> Option<&'static str> {
    let found = ["python3", "python"].into_iter().find(|program| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "python3 is needed to check {checker} in CI"
        );
        eprintln!("\n!!!!!!!! {checker} check SKIPPED: no python3 !!!!!!!!\n");
    }
    found
}
