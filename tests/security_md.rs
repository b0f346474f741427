//! SECURITY.md names a test for every vulnerability class: each name must be a test (or a
//! test function) in the file the table gives, so the table cannot drift from the code.

use std::path::Path;

#[test]
fn every_test_named_in_security_md_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
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
                    assert!(
                        text.contains(&format!("fn {part}(")),
                        "SECURITY.md names {part} in {file}, which has no such test"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} test names found in SECURITY.md"
    );
}
