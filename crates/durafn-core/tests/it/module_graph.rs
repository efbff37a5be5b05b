//! Architecture invariant: no import circles inside a crate.
//!
//! A module (a file) may use another module of its crate only if that one does not, directly or
//! through others, use it back. The check reads the sources: every `crate::`, `super::` and
//! `self::` path (use declarations, use groups and paths in code) is resolved to the deepest
//! module file it names, and the resulting graph must have no cycle. `mod` declarations are not
//! uses, so a folder module may re-export its children as long as they do not reach back into it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates held to the rule, relative to the workspace root (all but the host and the command
/// line, whose modules are still to be untangled).
const CRATES: &[&str] = &[
    "crates/durafn-api",
    "crates/durafn-azure",
    "crates/durafn-schedule",
    "crates/durafn-testenv",
    "crates/durafn-core",
    "crates/durafn-store",
    "crates/durafn-sqlite",
    "crates/durafn-postgres",
    "crates/durafn-runtime",
    "crates/durafn-dashboard",
    "crates/durafn-chaos",
    "crates/durafn-sim",
    "crates/durafn-macros",
    "crates/durafn",
    "crates/durafn-tables",
    "apps/audit-query",
];

type Module = Vec<String>;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate sits two levels below the workspace root")
        .to_path_buf()
}

/// Every module file of a library, by module path (`[]` is the crate root).
fn modules(src: &Path) -> BTreeMap<Module, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("source folder is readable") {
            let path = entry.expect("dir entry").path();
            let rel = path.strip_prefix(src).expect("below src");
            if path.is_dir() {
                if rel != Path::new("bin") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || rel == Path::new("main.rs") {
                continue;
            }
            let mut module: Module = rel
                .with_extension("")
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).expect("source is UTF-8");
            found.insert(module, without_tests_and_comments(&text));
        }
    }
    found
}

/// The source without line comments and without a trailing `#[cfg(test)] mod tests` block.
fn without_tests_and_comments(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads `ident(::ident)*` at `i`, and after a trailing `::` a `{...}` group of such paths
/// (nested groups too); pushes every full path and returns the index after them.
fn read_paths(
    text: &[char],
    mut i: usize,
    mut path: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        while text.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if text.get(i) == Some(&'{') {
            i += 1;
            loop {
                while text.get(i).is_some_and(|c| c.is_whitespace() || *c == ',') {
                    i += 1;
                }
                match text.get(i) {
                    None => return i,
                    Some('}') => return i + 1,
                    Some(_) => {
                        let next = read_paths(text, i, path.clone(), out);
                        i = next.max(i + 1);
                    }
                }
            }
        }
        let start = i;
        while text.get(i).copied().is_some_and(is_ident) {
            i += 1;
        }
        if i == start {
            break;
        }
        let segment: String = text[start..i].iter().collect();
        if segment != "self" {
            path.push(segment);
        }
        if text.get(i) == Some(&':') && text.get(i + 1) == Some(&':') {
            i += 2;
            continue;
        }
        break;
    }
    // `as` renames and the rest of the item do not matter.
    out.push(path);
    i
}

/// The modules a module's source refers to.
fn references(module: &Module, text: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let starts_with = |at: usize, s: &str| {
        let s: Vec<char> = s.chars().collect();
        chars.get(at..at + s.len()) == Some(&s[..])
    };
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !is_ident(chars[i - 1]);
        let head = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|h| boundary && starts_with(i, h));
        let Some(head) = head else {
            i += 1;
            continue;
        };
        let mut base: Vec<String> = match head {
            "crate::" => Vec::new(),
            "super::" => module[..module.len().saturating_sub(1)].to_vec(),
            _ => module.clone(),
        };
        i += head.len();
        while starts_with(i, "super::") {
            base.pop();
            i += "super::".len();
        }
        i = read_paths(&chars, i, base, &mut out);
    }
    out
}

/// The deepest module a path names.
fn resolve<'a>(modules: &'a BTreeMap<Module, String>, path: &[String]) -> Option<&'a Module> {
    (0..=path.len())
        .rev()
        .find_map(|n| modules.get_key_value(&path[..n]).map(|(k, _)| k))
}

/// A cycle in the graph, if there is one.
fn find_cycle(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &Module,
        edges: &BTreeMap<Module, BTreeSet<Module>>,
        marks: &mut BTreeMap<Module, Mark>,
        path: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|m| m == node).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(node.clone());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.clone(), Mark::Open);
        path.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut marks, &mut Vec::new()))
}

fn graph(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let modules = modules(src);
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, text) in &modules {
        let targets = edges.entry(module.clone()).or_default();
        for path in references(module, text) {
            if let Some(target) = resolve(&modules, &path) {
                if target != module {
                    targets.insert(target.clone());
                }
            }
        }
    }
    edges
}

fn show(module: &Module) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

#[test]
fn no_crate_has_an_import_circle() {
    let root = workspace_root();
    let mut circles = Vec::new();
    for krate in CRATES {
        let edges = graph(&root.join(krate).join("src"));
        assert!(
            edges.len() > 1 || matches!(*krate, "crates/durafn" | "crates/durafn-testenv"),
            "{krate}: found no modules"
        );
        if let Some(cycle) = find_cycle(&edges) {
            let names: Vec<String> = cycle.iter().map(show).collect();
            circles.push(format!("{krate}: {}", names.join(" -> ")));
        }
    }
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}

#[test]
fn the_check_sees_a_circle_and_use_groups() {
    let a: Module = vec!["a".into()];
    let b: Module = vec!["b".into()];
    let c: Module = vec!["b".into(), "c".into()];
    let modules: BTreeMap<Module, String> = [
        (a.clone(), "use crate::b::{c::Thing, Other};".to_string()),
        (b.clone(), "pub use self::c::Thing;".to_string()),
        (
            c.clone(),
            "fn f() -> super::super::a::X { todo!() }".to_string(),
        ),
    ]
    .into_iter()
    .collect();
    let refs: Vec<&Module> = references(&a, &modules[&a])
        .iter()
        .filter_map(|p| resolve(&modules, p))
        .collect();
    assert_eq!(refs, vec![&c, &b]);
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, text) in &modules {
        for p in references(m, text) {
            if let Some(t) = resolve(&modules, &p).filter(|t| *t != m) {
                edges.entry(m.clone()).or_default().insert(t.clone());
            }
        }
    }
    let cycle = find_cycle(&edges).expect("a -> b::c -> a is a circle");
    assert!(cycle.contains(&a) && cycle.contains(&c), "{cycle:?}");
}
