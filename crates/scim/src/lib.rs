pub fn placeholder() {}
pub mod filter;
pub mod path;
