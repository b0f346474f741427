//! Placeholder: replaced by the comparison benchmark.
fn main() {}
