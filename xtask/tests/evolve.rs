//! Generated models can evolve: an optional property added to every object schema of a copy of
//! the Smart Pay spec, regenerated into a copy of the `smartpay` crate, still builds (the
//! hand-written code uses the generated constructors and builders, never a struct literal).
//!
//! The copy is checked with `cargo check --offline` in a scratch workspace that shares this
//! workspace's target directory and lock file, so the dependencies compiled for the workspace are
//! reused; only the copied crate is compiled again.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

/// The workspace manifest with `smartpay` as its only member and every path made absolute.
fn scratch_manifest(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).expect("root manifest");
    let start = text.find("members = [").expect("a members list");
    let end = start
        + text[start..]
            .find(']')
            .expect("the end of the members list")
        + 1;
    let crates = root.join("crates").display().to_string();
    format!("{}members = [\"smartpay\"]{}", &text[..start], &text[end..])
        .replace("path = \"crates/", &format!("path = \"{crates}/"))
}

#[test]
fn an_optional_property_added_to_every_object_schema_still_builds() {
    let root = root();
    let scratch = target_dir(&root).join("xtask-evolve");
    let _ = std::fs::remove_dir_all(&scratch);
    let krate = scratch.join("smartpay");
    std::fs::create_dir_all(&krate).expect("scratch dir");
    std::fs::copy(
        root.join("crates/smartpay/Cargo.toml"),
        krate.join("Cargo.toml"),
    )
    .expect("copy the manifest");
    copy_dir(&root.join("crates/smartpay/src"), &krate.join("src"));
    // The crate's docs are its README.
    std::fs::copy(
        root.join("crates/smartpay/README.md"),
        krate.join("README.md"),
    )
    .expect("copy the README");
    std::fs::write(scratch.join("Cargo.toml"), scratch_manifest(&root)).expect("manifest");
    std::fs::copy(root.join("Cargo.lock"), scratch.join("Cargo.lock")).expect("lock file");

    // The spec, with one more optional property on every object schema.
    let text =
        std::fs::read_to_string(root.join("crates/smartpay/spec/openapi.yaml")).expect("the spec");
    let mut spec = xtask::parse_spec_text(&text).expect("parse");
    let mut added = 0;
    for (_, schema) in spec["components"]["schemas"]
        .as_object_mut()
        .expect("schemas")
        .iter_mut()
    {
        if schema.get("type").and_then(|t| t.as_str()) != Some("object") {
            continue;
        }
        schema["properties"]["added_later"] = serde_json::json!({
            "type": "string",
            "description": "A property the provider added after this SDK was released."
        });
        added += 1;
    }
    assert!(added >= 20, "only {added} object schemas");
    let files =
        xtask::generate_from_value(spec, "crates/smartpay/spec/openapi.yaml").expect("generate");
    let models = &files
        .iter()
        .find(|f| f.name == "models.rs")
        .expect("models.rs")
        .text;
    assert_eq!(
        models.matches("pub added_later: Option<String>,").count(),
        added,
        "every object schema got the property"
    );
    for f in &files {
        std::fs::write(krate.join("src/generated").join(&f.name), &f.text).expect("write");
    }

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(&scratch)
        .args(["check", "--offline", "--quiet", "-p", "smartpay", "--lib"])
        .env("CARGO_TARGET_DIR", target_dir(&root))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo check");
    assert!(
        out.status.success(),
        "the smartpay crate no longer builds after an optional property was added:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
