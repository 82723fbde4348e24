//! The relay binary: everything is in the library (`concord_relay::cli`).

fn main() -> std::process::ExitCode {
    concord_relay::cli::main()
}
