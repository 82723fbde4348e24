//! The relay as the e2e tests run it: exactly the `concord-relay` binary's code.

fn main() -> std::process::ExitCode {
    concord_relay::cli::main()
}
