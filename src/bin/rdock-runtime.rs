//! rdock's OCI runtime, with runc's command line (see `rdock::cli::oci`).
fn main() {
    std::process::exit(rdock::cli::oci::main());
}
