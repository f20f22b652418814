//! Container networking without a daemon: bridges and veth pairs through
//! rtnetlink (`netlink`), NAT and published ports in an rdock-owned
//! nftables table (`firewall`), addresses and host ports leased host-wide
//! (`leases`).

pub mod bridge;
pub mod firewall;
pub mod hosts;
pub mod leases;
pub mod netlink;
pub mod ports;
pub mod resolv;
pub mod store;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum NetworkError {
    /// A netlink request failed; `what` names the operation and its object.
    #[error("{what}: {source}")]
    Netlink {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The host's lease table or the store's network lock.
    #[error("{what}: {source}")]
    Leases {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("firewall: {0}")]
    Firewall(String),
    #[error("{0}")]
    Invalid(String),
    /// The engine's message of several lines (docker's joined errors,
    /// `invalid network config:` and one line per fault).
    #[error("{}", .0.join("\n"))]
    Lines(Vec<String>),
    /// A published host port that cannot be had: docker's daemon names
    /// the endpoint in front (`container::network::prepare`).
    #[error("{0}")]
    PortTaken(String),
}

pub type Result<T, E = NetworkError> = std::result::Result<T, E>;
