//! rtnetlink: links, addresses, routes (see mod.rs).
