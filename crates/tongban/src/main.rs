//! `tongban`: the public trust platform's one binary.

#![forbid(unsafe_code)]

use std::process::ExitCode;

// mimalloc rather than glibc's malloc: under the soak's mixed load glibc's per-thread
// arenas kept freed memory (resident memory rose in steps for ten minutes), and on the
// verification path malloc and free took 15 % of the server's time, partly waiting on
// arena locks. Measured in `benches/soak.rs` and `benches/ecert_load.rs`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tongban::cli::main()
}
