//! The desktop CLI as the e2e tests run it: exactly the `concord` binary's code.

fn main() -> std::process::ExitCode {
    concord_desktop::cli::main()
}
