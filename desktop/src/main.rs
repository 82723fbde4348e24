//! The `concord` binary: everything is in the library (`concord_desktop::cli`).

fn main() -> std::process::ExitCode {
    concord_desktop::cli::main()
}
