//! The temp-repo builder and helpers to run the real binary (ripgrep's `Dir`).
#![allow(dead_code)] // helpers are used by some test modules only

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary directory holding a repository under test. Files are created with
/// [`TempRepo::file`]; the directory is removed when the value is dropped.
pub struct TempRepo {
    dir: tempfile::TempDir,
}

impl TempRepo {
    pub fn new() -> TempRepo {
        TempRepo { dir: tempfile::Builder::new().prefix("fleetward-test").tempdir().expect("tempdir") }
    }

    /// A repo holding a copy of `fixtures/<name>`.
    pub fn from_fixture(name: &str) -> TempRepo {
        let repo = TempRepo::new();
        copy_dir(&fixture(name), repo.path());
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `contents` to `rel` (parents created). Returns `self` for chaining.
    pub fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> &TempRepo {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, contents).unwrap();
        self
    }

    /// A package: `Cargo.toml` with `manifest_tail` appended after `[package]`, and `src/main.rs`
    /// when `service`, else `src/lib.rs`.
    pub fn package(&self, dir: &str, name: &str, service: bool, manifest_tail: &str) -> &TempRepo {
        let prefix = if dir.is_empty() || dir == "." { String::new() } else { format!("{dir}/") };
        self.file(
            &format!("{prefix}Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{manifest_tail}"),
        );
        if service {
            self.file(&format!("{prefix}src/main.rs"), "fn main() {}\n");
        } else {
            self.file(&format!("{prefix}src/lib.rs"), "pub fn f() {}\n");
        }
        self
    }

    /// Run `fleetward ARGS` in the repo directory, with a fixed date and no colour.
    pub fn run(&self, args: &[&str]) -> Run {
        run_in(self.path(), args)
    }
}

/// Run the real binary in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    run_with_env(dir, args, &[])
}

/// Run the real binary in `dir` with extra environment variables (set after the defaults).
pub fn run_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetward"))
        .args(args)
        .current_dir(dir)
        .env("FLEETWARD_NOW", "2026-11-22")
        .env("NO_COLOR", "1")
        // Every run shares one cache outside the user's home: results must be the same with it.
        .env("FLEETWARD_CACHE_DIR", concat!(env!("CARGO_TARGET_TMPDIR"), "/cache"))
        .env_remove("FLEETWARD_ADVISORY_DB")
        .env_remove("FLEETWARD_ADVISORY_DB_URL")
        .envs(env.iter().copied())
        .output()
        .expect("run fleetward");
    Run(out)
}

/// The outcome of one run.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().expect("exit code")
    }
    pub fn stdout(&self) -> String {
        String::from_utf8(self.0.stdout.clone()).expect("utf-8 stdout")
    }
    pub fn stderr(&self) -> String {
        String::from_utf8(self.0.stderr.clone()).expect("utf-8 stderr")
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.0.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout(), self.stderr())
        })
    }
    /// Assert the exit code, showing both streams when it differs.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// Absolute path of `fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// `../shared/<rel>` when the conformance material is present (it is not on a user's machine).
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("shared").join(rel);
    p.exists().then_some(p)
}

pub fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}
