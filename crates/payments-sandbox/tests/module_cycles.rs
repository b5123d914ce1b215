//! No circular imports between the sandbox's modules: reading `src/`, a module may use its
//! ancestors (a child of `ktwidget` uses the emulator's shared state), but two modules that are
//! not each other's ancestors never use each other, directly or through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The module path of a source file: `src/ktwidget/api.rs` is `ktwidget::api`,
/// `src/ktwidget/mod.rs` is `ktwidget`, `src/lib.rs` is the root (empty).
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

fn collect(dir: &Path, root: &Path, out: &mut Vec<(Vec<String>, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests may use anything.
            let text = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_owned(),
                None => text,
            };
            out.push((module_of(path.strip_prefix(root).unwrap()), text));
        }
    }
}

/// The modules `text` (in module `here`) names through `super::` and `crate::` paths,
/// including `use super::{a, b::c}` groups.
fn uses(here: &[String], text: &str, known: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", here[..here.len().saturating_sub(1)].to_vec()),
    ] {
        for (i, _) in code.match_indices(prefix) {
            let rest = &code[i + prefix.len()..];
            let heads: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                group[..end].split(',').map(str::trim).collect()
            } else {
                vec![rest]
            };
            for head in heads {
                // The longest known module that the path starts with.
                let mut path = base.clone();
                let mut best = None;
                for seg in head.split("::") {
                    let seg: String = seg
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if seg.is_empty() {
                        break;
                    }
                    path.push(seg);
                    if known.contains(&path) {
                        best = Some(path.clone());
                    }
                }
                if let Some(m) = best {
                    found.insert(m);
                }
            }
        }
    }
    found
}

#[test]
fn no_module_uses_a_module_that_uses_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    let known: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, text) in &files {
        let edges = uses(module, text, &known)
            .into_iter()
            // Using an ancestor (or oneself) is allowed; so is a parent using its children.
            .filter(|to| !module.starts_with(to) && !to.starts_with(module))
            .collect();
        graph.insert(module.clone(), edges);
    }
    // The graph is read: ktwidget::api uses ktwidget::delivery.
    let api = vec!["ktwidget".to_owned(), "api".to_owned()];
    let delivery = vec!["ktwidget".to_owned(), "delivery".to_owned()];
    assert!(graph[&api].contains(&delivery), "{graph:?}");

    // Depth-first search for a cycle.
    fn visit(
        m: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        if let Some(i) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(m.clone());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.clone());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(m.clone());
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        let cycle = visit(m, &graph, &mut Vec::new(), &mut done);
        let names: Option<Vec<String>> = cycle.map(|c| {
            c.iter()
                .map(|m| format!("crate::{}", m.join("::")))
                .collect()
        });
        assert_eq!(names, None, "a circular import between modules");
    }
}
