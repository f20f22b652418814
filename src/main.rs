fn main() {
    std::process::exit(rdock::cli::main());
}
