//! ctrl
