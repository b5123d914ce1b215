#!/usr/bin/env python3
"""The MSRV check: no dependency of a published crate may need a newer Rust than we declare.

Reads `cargo metadata --format-version 1 --all-features --locked` and walks, from every published
workspace crate (`publish` not `false`), the normal and build dependency edges of the locked
resolve, on every target platform and with every feature on (a user may enable any of them, on
any platform). Dev-dependencies are left out: they are built only by our own tests and benches,
never by a user's `cargo build` or `cargo install`. Each crate reached that declares a
`rust-version` higher than the workspace's fails the check, with the crate, its version, what it
needs and the path from our crate that brings it in.

Only the declared `rust-version` of dependencies is checked (no second toolchain can be
downloaded here). Our own code is checked against the same value by clippy's
`incompatible_msrv` lint, which reads `rust-version` from Cargo.toml.

Usage: scripts/msrv-check.py [--metadata FILE]   (exit 0: ok, 1: a dependency needs more)
"""

import json
import subprocess
import sys


def parse_version(text):
    """'1.85' or '1.85.1' -> (1, 85, 1)."""
    parts = [int(p) for p in text.split(".")]
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


def show(version):
    major, minor, patch = version
    return f"{major}.{minor}" if patch == 0 else f"{major}.{minor}.{patch}"


def load_metadata(argv):
    if len(argv) == 3 and argv[1] == "--metadata":
        with open(argv[2], encoding="utf-8") as f:
            return json.load(f)
    if len(argv) != 1:
        sys.exit(__doc__.strip().splitlines()[-1])
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"],
        check=True,
        stdout=subprocess.PIPE,
    ).stdout
    return json.loads(out)


def main(argv):
    meta = load_metadata(argv)
    packages = {p["id"]: p for p in meta["packages"]}
    members = [packages[i] for i in meta["workspace_members"]]
    published = [p for p in members if p.get("publish") != []]
    if not published:
        sys.exit("msrv-check: no published crate in the workspace")
    ours = {p["rust_version"] for p in published}
    if None in ours or len(ours) != 1:
        sys.exit(f"msrv-check: the published crates must share one rust-version, found {ours}")
    ours = parse_version(ours.pop())

    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    # Breadth-first from every published crate: how each dependency was first reached.
    parent = {}
    queue = []
    for p in published:
        parent[p["id"]] = None
        queue.append(p["id"])
    while queue:
        current = queue.pop(0)
        for dep in nodes[current]["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if not kinds & {None, "build"}:
                continue  # dev-only edge
            if dep["pkg"] not in parent:
                parent[dep["pkg"]] = current
                queue.append(dep["pkg"])

    def path_to(pkg_id):
        names = []
        while pkg_id is not None:
            names.append(packages[pkg_id]["name"])
            pkg_id = parent[pkg_id]
        return " -> ".join(reversed(names))

    needs = []
    for pkg_id in parent:
        p = packages[pkg_id]
        if p["id"] in meta["workspace_members"] or not p.get("rust_version"):
            continue
        needs.append((parse_version(p["rust_version"]), p["name"], p["version"], pkg_id))
    needs.sort(reverse=True)

    undeclared = sum(
        1 for i in parent if i not in meta["workspace_members"] and not packages[i].get("rust_version")
    )
    print(
        f"msrv-check: {len(parent) - len(published)} dependencies of {len(published)} published "
        f"crates (normal and build edges, all features, all targets); {undeclared} declare no "
        "rust-version"
    )
    if not needs:
        print(f"msrv-check: no dependency declares a rust-version; ours is {show(ours)}")
        return 0
    top = needs[0]
    print(f"msrv-check: the locked tree needs Rust {show(top[0])} ({top[1]} {top[2]}); "
          f"we declare {show(ours)}")
    too_new = [n for n in needs if n[0] > ours]
    for version, name, ver, pkg_id in too_new:
        print(
            f"error: {name} {ver} needs Rust {show(version)}, above our rust-version "
            f"{show(ours)} (via {path_to(pkg_id)})",
            file=sys.stderr,
        )
    if too_new:
        print(
            f"msrv-check: raise `rust-version` in the workspace Cargo.toml to {show(top[0])}, or "
            "keep these crates at older versions in Cargo.lock "
            "(CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo update)",
            file=sys.stderr,
        )
        return 1
    if top[0] < ours:
        print(f"msrv-check: note: the tree would allow {show(top[0])}; ours ({show(ours)}) is "
              "higher, which is fine if our own code needs it")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
