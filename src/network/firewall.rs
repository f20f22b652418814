//! nftables table `rdock` (see mod.rs).
