//! The command line: parse, dispatch to one file per command, print, exit.

pub mod format;

pub fn main() -> i32 {
    0
}
