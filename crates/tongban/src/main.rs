//! `tongban`: the public trust platform's one binary.

#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    tongban::cli::main()
}
