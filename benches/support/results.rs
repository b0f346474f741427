//! Reading criterion's results back for the summary tables the benches print (shared by
//! `compare.rs` and `broadcast.rs`).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Where criterion writes its results: `$CRITERION_HOME`, else `<target>/criterion`.
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    // The bench executable is <target>/<profile>/deps/compare-<hash>.
    env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(|t| t.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The mean point estimate (ns) of one benchmark, if it was written during this run.
pub fn estimate_ns(dir: &Path, group: &str, bench: &str, since: SystemTime) -> Option<f64> {
    let path = dir
        .join(group)
        .join(bench)
        .join("new")
        .join("estimates.json");
    if fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let text = fs::read_to_string(&path).ok()?;
    let mean = &text[text.find("\"mean\"")?..];
    const KEY: &str = "\"point_estimate\":";
    let value = &mean[mean.find(KEY)? + KEY.len()..];
    let end = value.find([',', '}'])?;
    value[..end].trim().parse().ok()
}

pub fn fmt_time(ns: f64) -> String {
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if v < 10.0 {
        format!("{v:.2} {unit}")
    } else if v < 100.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.0} {unit}")
    }
}
