//! The migration as data: phases of desired facts, and the pure functions over them.
//!
//! This module performs no I/O and imports no other ckf-migrator module. It loads the plan,
//! compares it with an observed state and renders the differences as the commands a person would
//! type.

mod platform;

pub use platform::Platform;
