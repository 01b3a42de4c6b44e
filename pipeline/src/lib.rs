//! pipeline: weir's data plane.
#![warn(missing_docs)]

pub mod wire;
