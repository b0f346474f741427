//! SECURITY.md names a test for every vulnerability class: each name must be a test that runs
//! under README's test command (`cargo test --all-features`), so the table cannot drift from
//! the code. For each name, in the file the table gives: a function of that name marked
//! `#[test]` (or inside a `proptest!` block), not `#[ignore]`d, not compiled out under every
//! feature (`cfg(not(feature = ..))`, on the function or the whole file), and in a test
//! target (`tests/*.rs`, or `src/` inside `#[cfg(test)]`).

use std::path::Path;

/// README's test command, which the names must run under.
const TEST_COMMAND: &str = "cargo test --all-features";

#[test]
fn every_test_named_in_security_md_runs_under_the_readme_test_command() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(TEST_COMMAND),
        "README no longer gives `{TEST_COMMAND}`"
    );
    let doc = std::fs::read_to_string(root.join("SECURITY.md")).unwrap();
    let mut checked = 0;
    for row in doc
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| class"))
    {
        let Some(tests) = row.split(" | ").nth(2) else {
            continue;
        };
        // "`file`: `name`, `name`; `file`: `name`" (plain words in between are ignored).
        let mut file: Option<String> = None;
        for part in tests.split('`').skip(1).step_by(2) {
            if part.ends_with(".rs") {
                file = Some(part.to_string());
            } else if let Some(file) = &file {
                if part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    let text = std::fs::read_to_string(root.join(file))
                        .unwrap_or_else(|e| panic!("{file}: {e}"));
                    if let Err(why) = runs_as_a_test(file, &text, part) {
                        panic!("SECURITY.md names {part} in {file}: {why}");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 25,
        "only {checked} test names found in SECURITY.md"
    );
}

/// Whether `name` in `file` (holding `text`) is a test that `cargo test --all-features` runs.
fn runs_as_a_test(file: &str, text: &str, name: &str) -> Result<(), String> {
    let at = text
        .find(&format!("fn {name}("))
        .ok_or("no such function")?;
    if text.match_indices(&format!("fn {name}(")).count() > 1 {
        return Err("more than one function of that name".into());
    }
    // The attributes right above the function (`async fn` for a `#[tokio::test]`).
    let before = &text[..at];
    let before = before.strip_suffix("async ").unwrap_or(before);
    let attributes: Vec<&str> = before
        .lines()
        .rev()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| l.starts_with("#[") || l.starts_with("///") || l.is_empty())
        .filter(|l| l.starts_with("#["))
        .collect();
    let in_proptest = before
        .rfind("proptest! {")
        .is_some_and(|open| !before[open..].contains("\n}\n"));
    let test_attribute = |a: &&str| *a == "#[test]" || a.starts_with("#[tokio::test");
    if !attributes.iter().any(test_attribute) && !in_proptest {
        return Err(format!("not a test (attributes: {attributes:?})"));
    }
    if attributes.iter().any(|a| a.starts_with("#[ignore")) {
        return Err("ignored".into());
    }
    let compiled_out = |a: &&str| a.contains("cfg(not(feature") || a.contains("cfg(any())");
    if attributes.iter().any(compiled_out) {
        return Err(format!("compiled out under --all-features: {attributes:?}"));
    }
    let file_cfg = text
        .lines()
        .filter(|l| l.starts_with("#![cfg("))
        .find(|l| compiled_out(l));
    if let Some(cfg) = file_cfg {
        return Err(format!(
            "the file is compiled out under --all-features: {cfg}"
        ));
    }
    if file.starts_with("src/") {
        // Inside a `#[cfg(test)]` module of the file, or the file is a `tests.rs` module
        // that its parent declares under `#[cfg(test)]`.
        let tests_module = before.rfind("#[cfg(test)]");
        let parent_declares = file.strip_suffix("/tests.rs").is_some_and(|parent| {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            [format!("{parent}.rs"), format!("{parent}/mod.rs")]
                .iter()
                .any(|p| {
                    std::fs::read_to_string(root.join(p))
                        .is_ok_and(|p| p.contains("#[cfg(test)]\nmod tests;"))
                })
        });
        if tests_module.is_none() && !parent_declares {
            return Err("outside a #[cfg(test)] module".into());
        }
    } else if !(file.starts_with("tests/")
        && (file.matches('/').count() == 1
            || file.ends_with("/main.rs") && file.matches('/').count() == 2))
    {
        return Err("not a test target (tests/*.rs, tests/*/main.rs)".into());
    }
    Ok(())
}

/// The checker itself can fail: a function without `#[test]`, an ignored test, a test
/// compiled out, a missing name.
#[test]
fn the_checker_rejects_what_would_not_run() {
    let file = "tests/x.rs";
    assert!(runs_as_a_test(file, "#[test]\nfn a() {}\n", "a").is_ok());
    assert!(runs_as_a_test(
        file,
        "/// doc\n#[test]\n#[cfg(feature = \"deflate\")]\nfn a() {}\n",
        "a"
    )
    .is_ok());
    assert!(runs_as_a_test(file, "#[tokio::test]\nasync fn a() {}\n", "a").is_ok());
    assert!(runs_as_a_test(file, "async fn a() {}\n", "a").is_err());
    assert!(runs_as_a_test(file, "fn a() {}\n", "a").is_err());
    assert!(runs_as_a_test(file, "#[test]\n#[ignore]\nfn a() {}\n", "a").is_err());
    assert!(runs_as_a_test(
        file,
        "#[test]\n#[cfg(not(feature = \"std\"))]\nfn a() {}\n",
        "a"
    )
    .is_err());
    assert!(runs_as_a_test(
        file,
        "#![cfg(not(feature = \"std\"))]\n#[test]\nfn a() {}\n",
        "a"
    )
    .is_err());
    assert!(runs_as_a_test(file, "#[test]\nfn b() {}\n", "a").is_err());
    assert!(runs_as_a_test("tests/common/mod.rs", "#[test]\nfn a() {}\n", "a").is_err());
    assert!(runs_as_a_test("src/x.rs", "#[test]\nfn a() {}\n", "a").is_err());
    assert!(runs_as_a_test(
        "src/x.rs",
        "#[cfg(test)]\nmod tests {\n#[test]\nfn a() {}\n}\n",
        "a"
    )
    .is_ok());
    assert!(runs_as_a_test(file, "proptest! {\n    fn a(x in 0..1u8) {}\n}\n", "a").is_ok());
}
