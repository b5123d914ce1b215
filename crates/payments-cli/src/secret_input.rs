//! Where the command's secrets come from.
//!
//! Every secret argument (`--secret-key`, `--password`, `--app-key`...) is read, in this order:
//!
//! 1. `--NAME VALUE` on the command line: accepted, with a warning on stderr, since other users
//!    of the machine can read a process's arguments (`ps`, `/proc/PID/cmdline`) and the shell
//!    keeps them in its history. `--NAME -` reads the secret from stdin instead (no warning).
//! 2. `--NAME-file PATH`: the file's contents (`-` for stdin).
//! 3. The environment variable named for it (`KUPIKUPI_SECRET_KEY`...).
//!
//! One trailing line break (`\n` or `\r\n`) is removed from a secret read from stdin or a file.
//! Only one secret (or one body) can come from stdin in one invocation: [`Stdin`] keeps count.

use std::io::Read;
use std::path::Path;

use payments_core::Secret;

/// The one stdin of the process: who has read it, so that two readers are a clear error instead
/// of a second, empty read.
#[derive(Debug, Default)]
pub struct Stdin {
    taken_by: Option<String>,
}

impl Stdin {
    /// Reads all of stdin for `what` (a flag's name, or "the body"). A second claim is an
    /// error that names the first.
    pub fn read_all(&mut self, what: &str) -> Result<Vec<u8>, String> {
        if let Some(first) = &self.taken_by {
            return Err(format!(
                "{what} cannot come from stdin: stdin is already read for {first}"
            ));
        }
        self.taken_by = Some(what.to_owned());
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read stdin for {what}: {e}"))?;
        Ok(buf)
    }
}

/// One secret argument: the flag's name (without `--`), its value and `-file` value as parsed,
/// and its environment variable.
#[derive(Debug)]
pub struct SecretArg<'a> {
    /// The flag, e.g. `secret-key` (the file flag is `secret-key-file`).
    pub flag: &'a str,
    /// The value given with `--FLAG`, if any.
    pub value: Option<String>,
    /// The path given with `--FLAG-file`, if any.
    pub file: Option<&'a Path>,
    /// The environment variable, e.g. `KUPIKUPI_SECRET_KEY`.
    pub env: &'a str,
}

/// The warning printed for a secret given on the command line.
pub fn command_line_warning(flag: &str, env: &str) -> String {
    format!(
        "warning: --{flag} on the command line is visible to other users of this machine \
         (ps, /proc) and stays in your shell history; prefer {env}=..., --{flag}-file PATH \
         or --{flag} - (stdin)"
    )
}

fn strip_one_line_break(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    bytes
}

impl SecretArg<'_> {
    /// The secret, if any source gives one. Warnings go to `warn` (stderr in the binary).
    pub fn resolve(
        self,
        stdin: &mut Stdin,
        warn: &mut dyn FnMut(&str),
    ) -> Result<Option<Secret>, String> {
        let flag = self.flag;
        if let Some(value) = self.value {
            if value == "-" {
                let bytes = stdin.read_all(&format!("--{flag}"))?;
                return Ok(Some(Secret::new(strip_one_line_break(bytes))));
            }
            warn(&command_line_warning(flag, self.env));
            return Ok(Some(Secret::from(value)));
        }
        if let Some(path) = self.file {
            let bytes = if path == Path::new("-") {
                stdin.read_all(&format!("--{flag}-file"))?
            } else {
                // The error names the file, never its contents.
                std::fs::read(path)
                    .map_err(|e| format!("cannot read --{flag}-file {}: {e}", path.display()))?
            };
            return Ok(Some(Secret::new(strip_one_line_break(bytes))));
        }
        match std::env::var_os(self.env) {
            Some(v) if !v.is_empty() => match v.into_string() {
                Ok(s) => Ok(Some(Secret::from(s))),
                Err(_) => Err(format!("{} is not valid UTF-8", self.env)),
            },
            _ => Ok(None),
        }
    }

    /// Like [`SecretArg::resolve`], but a missing secret is an error that says where to put it.
    pub fn require(self, stdin: &mut Stdin, warn: &mut dyn FnMut(&str)) -> Result<Secret, String> {
        let (flag, env) = (self.flag.to_owned(), self.env.to_owned());
        self.resolve(stdin, warn)?.ok_or_else(|| {
            format!("no --{flag}: set {env}, or give --{flag}-file PATH or --{flag} - (stdin)")
        })
    }
}

/// Prints a warning on stderr: the `warn` of the binary's verbs.
pub fn warn_on_stderr(line: &str) {
    eprintln!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg<'a>(value: Option<&str>, file: Option<&'a Path>, env: &'a str) -> SecretArg<'a> {
        SecretArg {
            flag: "secret-key",
            value: value.map(str::to_owned),
            file,
            env,
        }
    }

    #[test]
    fn a_literal_value_is_taken_with_a_warning() {
        let mut warned = Vec::new();
        let s = arg(Some("s3cr3t"), None, "PAYMENTS_CLI_TEST_UNSET_1")
            .resolve(&mut Stdin::default(), &mut |w| warned.push(w.to_owned()))
            .unwrap()
            .unwrap();
        assert_eq!(s.expose(), b"s3cr3t");
        assert_eq!(warned.len(), 1);
        assert!(
            warned[0].contains("visible to other users"),
            "{}",
            warned[0]
        );
        assert!(!warned[0].contains("s3cr3t"));
    }

    #[test]
    fn a_file_is_read_without_its_last_line_break_and_without_a_warning() {
        let dir = std::env::temp_dir().join(format!("payments-cli-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, b"from-file\r\n").unwrap();
        let mut warned = 0;
        let s = arg(None, Some(&path), "PAYMENTS_CLI_TEST_UNSET_2")
            .resolve(&mut Stdin::default(), &mut |_| warned += 1)
            .unwrap()
            .unwrap();
        assert_eq!(s.expose(), b"from-file");
        assert_eq!(warned, 0);
        let missing = dir.join("missing");
        let err = arg(None, Some(&missing), "PAYMENTS_CLI_TEST_UNSET_2")
            .resolve(&mut Stdin::default(), &mut |_| {})
            .unwrap_err();
        assert!(err.contains("--secret-key-file"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn nothing_given_is_none_and_require_says_where_to_put_it() {
        let none = arg(None, None, "PAYMENTS_CLI_TEST_UNSET_3")
            .resolve(&mut Stdin::default(), &mut |_| {})
            .unwrap();
        assert!(none.is_none());
        let err = arg(None, None, "PAYMENTS_CLI_TEST_UNSET_3")
            .require(&mut Stdin::default(), &mut |_| {})
            .unwrap_err();
        assert!(err.contains("PAYMENTS_CLI_TEST_UNSET_3"), "{err}");
        assert!(err.contains("--secret-key-file"), "{err}");
    }

    #[test]
    fn stdin_is_claimed_once() {
        let mut stdin = Stdin {
            taken_by: Some("the body".into()),
        };
        let err = arg(Some("-"), None, "PAYMENTS_CLI_TEST_UNSET_4")
            .resolve(&mut stdin, &mut |_| {})
            .unwrap_err();
        assert!(err.contains("already read for the body"), "{err}");
    }

    #[test]
    fn one_line_break_is_stripped() {
        assert_eq!(strip_one_line_break(b"a\n\n".to_vec()), b"a\n");
        assert_eq!(strip_one_line_break(b"a\r\n".to_vec()), b"a");
        assert_eq!(strip_one_line_break(b"a".to_vec()), b"a");
    }
}
