//! `cargo xtask cycles`: fails on a circular import between the modules of a crate.
//!
//! For every crate under `crates/` and `tests/` (its `src/` only), the checker parses each module
//! with `syn` and builds a graph whose nodes are sibling modules: the top-level modules of the
//! crate, and the submodules of one module (`ktwidget/api`, `ktwidget/delivery`, ...). An edge
//! `a → b` is a path in `a` (or in a module inside `a`) that names something in `b` (or inside
//! `b`):
//!
//! - `use crate::…`, `use super::…`, `use self::…`, and `use b::…` where `b` is a child module;
//! - `crate::…`, `super::…` and `self::…` paths in types and expressions, and in macro arguments
//!   that parse as expressions (`matches!`, `format!`, `assert!`);
//! - a name re-exported by a module (`pub use error::Error` in `lib.rs`) counts as the module
//!   that defines it, so `crate::Error` is an edge to `error`.
//!
//! `#[cfg(test)]` modules and items are left out. A child's use of its parent (`super::X`) and a
//! parent's use of its child are not edges: only siblings can form a cycle. Each strongly
//! connected component of more than one module is reported, with the `file:line` of one edge
//! for every ordered pair of its modules that has one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A module's path inside its crate: `[]` for the root, `["ktwidget", "api"]`.
type ModPath = Vec<String>;

/// Where an edge was seen.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Site {
    /// The file, as given to [`analyse`].
    pub file: String,
    /// The line (1-based).
    pub line: usize,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One cycle: the modules of a strongly connected component (under one parent), and one edge
/// for each ordered pair of them that has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cycle {
    /// The parent module (`""` for the crate root, `"ktwidget"`).
    pub parent: String,
    /// The modules in the cycle, sorted.
    pub modules: Vec<String>,
    /// `(from, to, where)`.
    pub edges: Vec<(String, String, Site)>,
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = if self.parent.is_empty() {
            String::new()
        } else {
            format!("{}::", self.parent)
        };
        let names: Vec<String> = self
            .modules
            .iter()
            .map(|m| format!("{prefix}{m}"))
            .collect();
        writeln!(f, "cycle between {}", names.join(", "))?;
        for (from, to, site) in &self.edges {
            writeln!(f, "    {prefix}{from} -> {prefix}{to}  ({site})")?;
        }
        Ok(())
    }
}

/// The source files of one crate: the root file's name (`lib.rs` or `main.rs`) and every file
/// under `src/`, by path relative to `src/` (`ktwidget/api.rs`), with the name shown in reports.
pub struct CrateSources {
    /// `lib.rs` or `main.rs`.
    pub root: String,
    /// Relative path → (shown name, text).
    pub files: BTreeMap<String, (String, String)>,
}

impl CrateSources {
    /// Reads every `.rs` file under `src` (shown relative to `shown_base`).
    pub fn read(src: &Path, root: &str, shown_base: &Path) -> Result<CrateSources, String> {
        let mut files = BTreeMap::new();
        let mut stack = vec![src.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir)
                .map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let rel = path
                        .strip_prefix(src)
                        .unwrap_or(&path)
                        .to_string_lossy()
                        .replace('\\', "/");
                    let shown = path
                        .strip_prefix(shown_base)
                        .unwrap_or(&path)
                        .display()
                        .to_string();
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    files.insert(rel, (shown, text));
                }
            }
        }
        Ok(CrateSources {
            root: root.to_owned(),
            files,
        })
    }
}

/// What one module holds: its children, its re-exported names and the paths it names.
#[derive(Default)]
struct Module {
    children: BTreeSet<String>,
    /// Name → the full path it is imported from (`use` items, any visibility).
    imports: BTreeMap<String, ModPath>,
    /// Absolute paths named in this module (not in its children), with where.
    refs: Vec<(ModPath, Site)>,
}

/// Finds the cycles of one crate.
pub fn analyse(sources: &CrateSources) -> Result<Vec<Cycle>, String> {
    let mut modules: BTreeMap<ModPath, Module> = BTreeMap::new();
    load_file(sources, &sources.root, Vec::new(), "", &mut modules)?;
    let mut edges: BTreeMap<(ModPath, ModPath), Site> = BTreeMap::new();
    for (from, module) in &modules {
        for (path, site) in &module.refs {
            let Some(to) = resolve(&modules, path) else {
                continue;
            };
            // The edge between the two siblings under their lowest common ancestor.
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common >= from.len() || common >= to.len() {
                continue; // one contains the other
            }
            let key = (from[..=common].to_vec(), to[..=common].to_vec());
            let site = site.clone();
            edges
                .entry(key)
                .and_modify(|s| {
                    if site < *s {
                        *s = site.clone();
                    }
                })
                .or_insert(site);
        }
    }
    Ok(cycles(&edges))
}

/// Loads the module at `path` from `file` (relative to `src/`) and its children. `dir` is the
/// directory (relative to `src/`) where the children's files are.
fn load_file(
    sources: &CrateSources,
    file: &str,
    path: ModPath,
    dir: &str,
    modules: &mut BTreeMap<ModPath, Module>,
) -> Result<(), String> {
    let (shown, text) = sources
        .files
        .get(file)
        .ok_or_else(|| format!("module file {file} not found"))?;
    let ast = syn::parse_file(text).map_err(|e| {
        let at = e.span().start();
        format!("{shown}:{}:{}: {e}", at.line, at.column + 1)
    })?;
    load_items(sources, &ast.items, path, dir, shown, modules)
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// `dir/name`, with `..` and `.` components resolved (a `#[path = "../generated/x.rs"]`).
fn join(dir: &str, name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = join_raw(dir, name);
    for part in joined.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

fn join_raw(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn load_items(
    sources: &CrateSources,
    items: &[syn::Item],
    path: ModPath,
    dir: &str,
    shown: &str,
    modules: &mut BTreeMap<ModPath, Module>,
) -> Result<(), String> {
    modules.entry(path.clone()).or_default();
    let children = items_children(items);
    for item in items {
        if let syn::Item::Mod(m) = item {
            if is_cfg_test(&m.attrs) {
                continue;
            }
            let name = m.ident.to_string();
            modules
                .get_mut(&path)
                .expect("inserted above")
                .children
                .insert(name.clone());
            let mut child = path.clone();
            child.push(name.clone());
            match &m.content {
                Some((_, inner)) => {
                    load_items(sources, inner, child, &join(dir, &name), shown, modules)?;
                }
                None => {
                    let (file, child_dir) = if let Some(p) = path_attr(&m.attrs) {
                        let file = join(dir, &p);
                        let child_dir = file.trim_end_matches(".rs").to_owned();
                        (file, child_dir)
                    } else {
                        let flat = join(dir, &format!("{name}.rs"));
                        if sources.files.contains_key(&flat) {
                            (flat, join(dir, &name))
                        } else {
                            (join(dir, &format!("{name}/mod.rs")), join(dir, &name))
                        }
                    };
                    load_file(sources, &file, child, &child_dir, modules)?;
                }
            }
            continue;
        }
        let mut collector = Collector {
            module: &path,
            children: &children,
            shown,
            refs: Vec::new(),
            imports: Vec::new(),
        };
        collector.visit_item(item);
        let module = modules.get_mut(&path).expect("inserted above");
        module.refs.extend(collector.refs);
        for (name, full) in collector.imports {
            module.imports.insert(name, full);
        }
    }
    Ok(())
}

/// The names of the (non-test) modules declared among `items`.
fn items_children(items: &[syn::Item]) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Mod(m) if !is_cfg_test(&m.attrs) => Some(m.ident.to_string()),
            _ => None,
        })
        .collect()
}

/// Collects the crate-relative paths that one item names.
struct Collector<'a> {
    module: &'a ModPath,
    children: &'a BTreeSet<String>,
    shown: &'a str,
    refs: Vec<(ModPath, Site)>,
    imports: Vec<(String, ModPath)>,
}

impl Collector<'_> {
    /// The absolute path of `segments` as written in this module, if it is crate-relative.
    fn absolute(&self, segments: &[String]) -> Option<ModPath> {
        let first = segments.first()?;
        let mut out;
        let rest;
        match first.as_str() {
            "crate" => {
                out = Vec::new();
                rest = &segments[1..];
            }
            "self" => {
                out = self.module.clone();
                rest = &segments[1..];
            }
            "super" => {
                out = self.module.clone();
                let mut i = 0;
                while segments.get(i).is_some_and(|s| s == "super") {
                    out.pop()?;
                    i += 1;
                }
                rest = &segments[i..];
            }
            name if self.children.contains(name) => {
                out = self.module.clone();
                rest = segments;
            }
            _ => return None,
        }
        out.extend(rest.iter().cloned());
        Some(out)
    }

    fn site(&self, span: proc_macro2::Span) -> Site {
        Site {
            file: self.shown.to_owned(),
            line: span.start().line,
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree, span: proc_macro2::Span) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree, p.ident.span());
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                self.use_leaf(prefix, &name, &name, n.ident.span());
            }
            syn::UseTree::Rename(r) => {
                self.use_leaf(
                    prefix,
                    &r.ident.to_string(),
                    &r.rename.to_string(),
                    r.ident.span(),
                );
            }
            syn::UseTree::Glob(_) => {
                if let Some(abs) = self.absolute(prefix) {
                    let site = self.site(span);
                    self.refs.push((abs, site));
                }
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t, span);
                }
            }
        }
    }

    fn use_leaf(&mut self, prefix: &[String], name: &str, alias: &str, span: proc_macro2::Span) {
        let mut full = prefix.to_vec();
        if name != "self" {
            full.push(name.to_owned());
        }
        if let Some(abs) = self.absolute(&full) {
            let site = self.site(span);
            self.refs.push((abs.clone(), site));
            let alias = if name == "self" {
                prefix.last().cloned().unwrap_or_default()
            } else {
                alias.to_owned()
            };
            self.imports.push((alias, abs));
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_cfg_test(attrs) {
            return;
        }
        if let syn::Item::Use(u) = item {
            let mut prefix = Vec::new();
            let span = u.use_token.span;
            self.use_tree(&mut prefix, &u.tree, span);
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {
        // A nested module is loaded as a module of its own.
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_cfg_test(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            if let Some(abs) = self.absolute(&segments) {
                let site = self.site(path.segments[0].ident.span());
                self.refs.push((abs, site));
            }
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        use syn::parse::Parser;
        syn::visit::visit_macro(self, mac);
        let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        if let Ok(args) = parser.parse2(mac.tokens.clone()) {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
    }
}

/// The module that an absolute path names: its longest prefix that is a module, followed
/// through the re-exports (`use`) of the modules on the way.
fn resolve(modules: &BTreeMap<ModPath, Module>, path: &[String]) -> Option<ModPath> {
    let mut path = path.to_vec();
    for _ in 0..16 {
        let mut at: ModPath = Vec::new();
        let mut i = 0;
        while i < path.len() {
            let module = modules.get(&at)?;
            let name = &path[i];
            if module.children.contains(name) {
                at.push(name.clone());
                i += 1;
            } else if let Some(target) = module.imports.get(name) {
                // A re-export: continue from where the name comes from.
                let mut next = target.clone();
                next.extend(path[i + 1..].iter().cloned());
                if next == path {
                    return Some(at);
                }
                path = next;
                break;
            } else {
                return Some(at);
            }
        }
        if i >= path.len() {
            return Some(at);
        }
    }
    None
}

/// The strongly connected components of more than one node, under each parent (Tarjan).
fn cycles(edges: &BTreeMap<(ModPath, ModPath), Site>) -> Vec<Cycle> {
    let mut nodes: BTreeSet<&ModPath> = BTreeSet::new();
    let mut out_edges: BTreeMap<&ModPath, Vec<&ModPath>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        nodes.insert(from);
        nodes.insert(to);
        out_edges.entry(from).or_default().push(to);
    }
    struct Tarjan<'a> {
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        next: usize,
        sccs: Vec<Vec<&'a ModPath>>,
    }
    fn connect<'a>(
        t: &mut Tarjan<'a>,
        v: &'a ModPath,
        out_edges: &BTreeMap<&'a ModPath, Vec<&'a ModPath>>,
    ) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on_stack.insert(v);
        for &w in out_edges.get(v).map(Vec::as_slice).unwrap_or(&[]) {
            if !t.index.contains_key(w) {
                connect(t, w, out_edges);
                let low = t.low[v].min(t.low[w]);
                t.low.insert(v, low);
            } else if t.on_stack.contains(w) {
                let low = t.low[v].min(t.index[w]);
                t.low.insert(v, low);
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on_stack.remove(w);
                scc.push(w);
                if w == v {
                    break;
                }
            }
            t.sccs.push(scc);
        }
    }
    let mut t = Tarjan {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        sccs: Vec::new(),
    };
    for v in &nodes {
        if !t.index.contains_key(*v) {
            connect(&mut t, v, &out_edges);
        }
    }
    let mut found = Vec::new();
    for scc in t.sccs.into_iter().filter(|s| s.len() > 1) {
        let members: BTreeSet<&ModPath> = scc.into_iter().collect();
        let parent = members
            .first()
            .map(|m| m[..m.len() - 1].join("::"))
            .unwrap_or_default();
        let last = |m: &ModPath| m.last().cloned().unwrap_or_default();
        let edges_in = edges
            .iter()
            .filter(|((a, b), _)| members.contains(a) && members.contains(b))
            .map(|((a, b), site)| (last(a), last(b), site.clone()))
            .collect();
        found.push(Cycle {
            parent,
            modules: members.iter().map(|m| last(m)).collect(),
            edges: edges_in,
        });
    }
    found.sort_by(|a, b| (&a.parent, &a.modules).cmp(&(&b.parent, &b.modules)));
    found
}

/// The crates the checker reads: every directory under `crates/` with a `src/`, and `tests/`.
fn crate_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root.join("crates")) {
        for e in entries.flatten() {
            if e.path().join("src").is_dir() {
                dirs.push(e.path());
            }
        }
    }
    if root.join("tests/src").is_dir() {
        dirs.push(root.join("tests"));
    }
    dirs.sort();
    dirs
}

/// Runs the checker over the workspace at `root`: prints each cycle, fails if there is one.
pub fn run(root: &Path) -> Result<std::process::ExitCode, String> {
    let mut total = 0;
    let mut checked = 0;
    for dir in crate_dirs(root) {
        let src = dir.join("src");
        for file in ["lib.rs", "main.rs"] {
            if !src.join(file).is_file() {
                continue;
            }
            let sources = CrateSources::read(&src, file, root)?;
            let name = dir.strip_prefix(root).unwrap_or(&dir).display().to_string();
            checked += 1;
            for cycle in analyse(&sources)? {
                total += 1;
                print!("{name} ({file}): {cycle}");
            }
        }
    }
    if total == 0 {
        println!("no circular imports between modules ({checked} crate roots checked)");
        Ok(std::process::ExitCode::SUCCESS)
    } else {
        eprintln!("{total} circular import(s) between modules: break each cycle (move the shared piece into one module, or one level down)");
        Ok(std::process::ExitCode::FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_of(files: &[(&str, &str)]) -> CrateSources {
        CrateSources {
            root: "lib.rs".to_owned(),
            files: files
                .iter()
                .map(|(p, t)| ((*p).to_owned(), (format!("src/{p}"), (*t).to_owned())))
                .collect(),
        }
    }

    #[test]
    fn a_path_attribute_may_climb_out_of_its_directory() {
        assert_eq!(
            join("model", "../generated/models.rs"),
            "generated/models.rs"
        );
        assert_eq!(
            join("", "generated/operations.rs"),
            "generated/operations.rs"
        );
        assert_eq!(join("client", "./flow.rs"), "client/flow.rs");
    }

    #[test]
    fn a_two_module_cycle_is_found_with_one_edge_each_way() {
        let c = crate_of(&[
            ("lib.rs", "mod retry;\nmod transport;\n"),
            (
                "retry.rs",
                "use std::fmt;\n\nuse crate::transport::Response;\n",
            ),
            (
                "transport.rs",
                "pub struct Response;\nfn f() {\n    let _ = crate::retry::after();\n}\n",
            ),
        ]);
        let found = analyse(&c).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].modules, ["retry", "transport"]);
        let edges: Vec<String> = found[0]
            .edges
            .iter()
            .map(|(a, b, s)| format!("{a}->{b}@{s}"))
            .collect();
        assert_eq!(
            edges,
            [
                "retry->transport@src/retry.rs:3",
                "transport->retry@src/transport.rs:3"
            ]
        );
    }

    #[test]
    fn a_dag_passes_and_test_modules_are_ignored() {
        let c = crate_of(&[
            (
                "lib.rs",
                "pub mod a;\npub mod b;\npub mod c;\npub use b::Thing;\n",
            ),
            (
                "a.rs",
                "use crate::b::Thing;\nfn f() -> crate::c::X { crate::c::X::new() }\n",
            ),
            (
                "b.rs",
                "use super::c;\npub struct Thing;\n#[cfg(test)]\nmod tests { use crate::a::*; }\n",
            ),
            (
                "c.rs",
                "pub struct X;\n#[cfg(test)]\nfn helper() { crate::a::f(); }\n",
            ),
        ]);
        assert_eq!(analyse(&c).unwrap(), []);
    }

    #[test]
    fn re_exports_macros_and_sibling_submodules_are_followed() {
        let c = crate_of(&[
            (
                "lib.rs",
                "mod error;\nmod invalid;\npub mod emu;\npub use error::Error;\n",
            ),
            // `crate::Error` is `error::Error`, named inside a macro.
            (
                "invalid.rs",
                "fn f(e: &str) -> bool { matches!(e, crate::Error::X) }\n",
            ),
            (
                "error.rs",
                "use crate::invalid::Invalid;\npub enum Error { X }\n",
            ),
            ("emu/mod.rs", "mod api;\nmod delivery;\nmod widget;\n"),
            ("emu/api.rs", "use super::delivery::Queue;\n"),
            ("emu/delivery.rs", "use super::widget::Page;\n"),
            (
                "emu/widget.rs",
                "use super::api;\nuse super::super::error::Error;\n",
            ),
        ]);
        let found = analyse(&c).unwrap();
        let shown: Vec<(String, Vec<String>)> = found
            .iter()
            .map(|c| (c.parent.clone(), c.modules.clone()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    String::new(),
                    vec!["error".to_owned(), "invalid".to_owned()]
                ),
                (
                    "emu".to_owned(),
                    vec!["api".to_owned(), "delivery".to_owned(), "widget".to_owned()]
                ),
            ]
        );
        // Three edges around the ring, each with its line.
        assert_eq!(found[1].edges.len(), 3);
        assert!(found[1].edges.iter().any(|(a, b, s)| a == "widget"
            && b == "api"
            && s.to_string() == "src/emu/widget.rs:1"));
        // `emu::widget` naming `error` is an edge between the top-level `emu` and `error`, one
        // way only: no cycle there.
        assert!(!found[0].modules.contains(&"emu".to_owned()));
    }

    #[test]
    fn parents_and_children_are_not_a_cycle() {
        let c = crate_of(&[
            ("lib.rs", "mod outer;\npub struct Root;\n"),
            (
                "outer.rs",
                "mod inner;\nuse self::inner::Y;\npub struct X;\n",
            ),
            (
                "outer/inner.rs",
                "use super::X;\nuse crate::Root;\npub struct Y;\n",
            ),
        ]);
        assert_eq!(analyse(&c).unwrap(), []);
    }
}
