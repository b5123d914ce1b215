//! Running the `payments` binary from a test.

use std::io::{ErrorKind, Write};
use std::process::{Command, Output, Stdio};

/// Runs `payments` with `args`, feeding it `stdin`, with the variables in `unset` removed from
/// its environment and those in `env` set.
///
/// Stdin is written from its own thread while the output is read, so a large input cannot
/// deadlock against a full stdout pipe. The binary may exit before it reads stdin, for example
/// when it refuses an argument first: the broken pipe that follows is not a failure of the
/// test, whose assertions are on the exit status and the output.
pub fn run(args: &[&str], stdin: &[u8], unset: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_payments"));
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for k in unset {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn payments");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || match pipe.write_all(&input) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(e),
        _ => Ok(()),
    });
    let out = child.wait_with_output().expect("wait for payments");
    writer
        .join()
        .expect("the stdin writer does not panic")
        .expect("write stdin");
    out
}
