pub mod store;
pub fn placeholder() {}
