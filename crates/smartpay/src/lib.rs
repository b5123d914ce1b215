//! Smart Pay client (work in progress).

pub mod generated;
