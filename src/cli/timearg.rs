//! docker's time arguments: the parser lives in the library (`util::timearg`).

pub use crate::util::timearg::*;
