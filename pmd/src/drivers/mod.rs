//! Port drivers. Each exposes queues implementing [`crate::Port`].

pub mod mem;
