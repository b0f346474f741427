//! Placeholder: replaced by the hyper upgrade example.
fn main() {}
