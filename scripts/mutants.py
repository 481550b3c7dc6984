#!/usr/bin/env python3
"""Mutant check: plant each known bug (tests/mutants/*.mutant) in a scratch
copy of the source tree and check that some test fails ("kills" it).

    make mutants                      # every mutant
    make mutants MUTANTS=a,b          # a subset: names, or regexes on names
    scripts/mutants.py --list         # names and the bug each one plants
    scripts/mutants.py --check        # only check every mutant still applies
    scripts/mutants.py --compile-only # apply and build each one, no tests

The scratch copy (build-mutants/ by default, gitignored) is the working tree
as it is now, uncommitted changes included, without .git and build*/. It is
kept between runs, so a rerun only rebuilds what changed. Per mutant: apply
the mutation, rebuild, run the mutant's hinted tests (its `kills:` regex);
if none fails, run the rest of the suite with --stop-on-failure; restore the
file. Exit status 0 only if every mutant selected was killed.

The file format is described in tests/README.md. Python 3 standard library.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MUTANTS_DIR = REPO / "tests" / "mutants"
SUFFIX = ".mutant"
PRESET = "default"
BUILD_SUBDIR = "build"  # the default preset's binaryDir, relative to the source dir

# ---------------------------------------------------------------------------
# Definitions


class DefinitionError(Exception):
    """A mutant file that cannot be parsed."""


class Stale(Exception):
    """A mutant that no longer applies to the source."""


@dataclass
class Hunk:
    anchor: str
    find: str
    replace: str
    line: int  # where the hunk starts in the definition file


@dataclass
class Mutant:
    name: str
    path: Path
    why: str
    kills: str
    file: str
    hunks: list[Hunk] = field(default_factory=list)


HEADER_KEYS = ("why", "kills", "file", "anchor")
BLOCK = re.compile(r"^--- (find|replace)(?:\s+after:\s*(.*?))?\s*$")


# ctest -R takes CMake's regular expressions: . [] [^] * + ? () | ^ $ and \
# escapes. Python's re reads those the same way; what CMake lacks is refused
# here rather than silently matching nothing.
CMAKE_REGEX_LACKS = re.compile(r"\(\?|[{}]|\\[dDwWsSbBAZ0-9]|[*+?]\?")


def cmake_regex_problem(regex: str) -> str | None:
    try:
        re.compile(regex)
    except re.error as e:
        return f"not a valid regex: {e}"
    if m := CMAKE_REGEX_LACKS.search(regex):
        return (f"{m.group(0)!r} is not in CMake's regex syntax (ctest -R): use . [] * + ? ( ) | ^ $ "
                "and \\ escapes only")
    if groups(regex) > CMAKE_MAX_GROUPS:
        return f"more than {CMAKE_MAX_GROUPS} ( ) groups, the most CMake's regex takes"
    return None


CMAKE_MAX_GROUPS = 9  # CMake's regex: 10 subexpressions, the whole match included


def groups(regex: str) -> int:
    return len(re.findall(r"(?<!\\)\(", regex))


def union_regexes(regexes: list[str]) -> list[str]:
    """Few regexes matching what any of regexes matches: `|` binds loosest,
    so a|b joined with c is a|b|c; each part stays within CMake's limit."""
    parts: list[str] = []
    for regex in dict.fromkeys(regexes):
        if parts and groups(parts[-1]) + groups(regex) <= CMAKE_MAX_GROUPS:
            parts[-1] += "|" + regex
        else:
            parts.append(regex)
    return parts


def parse_mutant(path: Path) -> Mutant:
    """Parses one definition: `key: value` header lines (comments start with
    #, a line starting with whitespace continues the previous value), then
    pairs of `--- find [after: ANCHOR]` / `--- replace` blocks."""
    name = path.name[: -len(SUFFIX)]
    lines = path.read_text(encoding="utf-8").split("\n")
    where = lambda n: f"{path.relative_to(REPO)}:{n}"  # noqa: E731
    header: dict[str, str] = {}
    i = 0
    last_key = None
    while i < len(lines) and not BLOCK.match(lines[i]):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            last_key = None if not line.strip() else last_key
            continue
        if line[0].isspace():
            if last_key is None:
                raise DefinitionError(f"{where(i)}: indented line outside a value: {line!r}")
            header[last_key] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in HEADER_KEYS:
            raise DefinitionError(f"{where(i)}: expected one of {', '.join(HEADER_KEYS)} as `key: value`, got {line!r}")
        if key in header:
            raise DefinitionError(f"{where(i)}: {key} given twice")
        header[key] = value.strip()
        last_key = key
    for key in HEADER_KEYS:
        if not header.get(key, "").strip():
            raise DefinitionError(f"{where(1)}: missing `{key}:`")
    if problem := cmake_regex_problem(header["kills"]):
        raise DefinitionError(f"{where(1)}: kills: {problem}")

    mutant = Mutant(name, path, header["why"], header["kills"], header["file"])
    # Blocks: the text between one `---` line and the next (or the end).
    blocks: list[tuple[str, str | None, str, int]] = []
    while i < len(lines):
        m = BLOCK.match(lines[i])
        if not m:
            raise DefinitionError(f"{where(i + 1)}: expected `--- find` or `--- replace`, got {lines[i]!r}")
        start = i + 1
        i += 1
        body = []
        while i < len(lines) and not BLOCK.match(lines[i]):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():
            body.pop()  # blank lines between blocks are layout, not text
        blocks.append((m.group(1), m.group(2), "\n".join(body), start))
    if not blocks:
        raise DefinitionError(f"{where(len(lines))}: no `--- find` / `--- replace` blocks")
    if len(blocks) % 2:
        raise DefinitionError(f"{where(blocks[-1][3])}: a `--- find` block needs a `--- replace` block after it")
    for (kind1, anchor, find, line1), (kind2, extra, replace, line2) in zip(blocks[::2], blocks[1::2]):
        if kind1 != "find" or kind2 != "replace":
            raise DefinitionError(f"{where(line1)}: blocks must alternate `--- find`, `--- replace`")
        if extra is not None:
            raise DefinitionError(f"{where(line2)}: `after:` belongs on the `--- find` line")
        if not find.strip():
            raise DefinitionError(f"{where(line1)}: empty `--- find` block")
        if find == replace:
            raise DefinitionError(f"{where(line1)}: the replacement is the same as the text found")
        mutant.hunks.append(Hunk(anchor if anchor is not None else header["anchor"], find, replace, line1))
    return mutant


def load_mutants() -> list[Mutant]:
    paths = sorted(MUTANTS_DIR.glob("*" + SUFFIX))
    if not paths:
        sys.exit(f"mutants: no {SUFFIX} files in {MUTANTS_DIR.relative_to(REPO)}")
    return [parse_mutant(p) for p in paths]


def select(mutants: list[Mutant], spec: str) -> list[Mutant]:
    """Comma-separated items, each an exact name or a regex searched in names."""
    if not spec.strip():
        return mutants
    chosen: set[str] = set()
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        exact = [m.name for m in mutants if m.name == item]
        if exact:
            chosen.update(exact)
            continue
        try:
            pattern = re.compile(item)
        except re.error as e:
            sys.exit(f"mutants: {item!r} is neither a mutant's name nor a valid regex ({e})")
        hits = [m.name for m in mutants if pattern.search(m.name)]
        if not hits:
            sys.exit(f"mutants: {item!r} matches no mutant; --list shows them")
        chosen.update(hits)
    return [m for m in mutants if m.name in chosen]


# ---------------------------------------------------------------------------
# Applying a mutation

# A line that starts a declaration or statement: a letter, _, ~ or [ (for
# [[attributes]]) as its first non-blank character. Closing braces,
# initializer lists (`: member_(...)`), comments, preprocessor lines and
# string continuations do not.
STARTS_DECLARATION = re.compile(r"[A-Za-z_~\[]")


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def region_after(text: str, anchor: str, what: str) -> tuple[int, int]:
    """[start, end) of the anchor's region: from the anchor to the first later
    line indented no deeper than the anchor's line that starts a declaration
    or statement. For a top-level function that is the rest of the function;
    for an anchor on a statement, its block."""
    count = text.count(anchor)
    if count == 0:
        raise Stale(f"anchor {anchor!r} not found in {what}")
    if count > 1:
        lines = [line_of(text, m.start()) for m in re.finditer(re.escape(anchor), text)]
        raise Stale(f"anchor {anchor!r} is ambiguous in {what}: {count} times (lines {', '.join(map(str, lines))})")
    start = text.index(anchor)
    line_start = text.rfind("\n", 0, start) + 1
    indent = len(text[line_start:start]) - len(text[line_start:start].lstrip())
    pos = text.find("\n", start + len(anchor))
    while pos != -1:
        nxt = pos + 1
        line_end = text.find("\n", nxt)
        line = text[nxt:] if line_end == -1 else text[nxt:line_end]
        stripped = line.lstrip()
        if stripped and len(line) - len(stripped) <= indent and STARTS_DECLARATION.match(stripped):
            return start, nxt
        pos = line_end
    return start, len(text)


def apply_hunk(text: str, hunk: Hunk, what: str) -> tuple[str, int]:
    start, end = region_after(text, hunk.anchor, what)
    region = text[start:end]
    count = region.count(hunk.find)
    span = f"lines {line_of(text, start)}-{line_of(text, max(start, end - 1))}"
    if count != 1:
        first = hunk.find.strip().splitlines()[0]
        detail = f"snippet starting {first!r} "
        if count == 0:
            detail += f"not found after anchor {hunk.anchor!r} in {what} ({span})"
            elsewhere = [line_of(text, m.start()) for m in re.finditer(re.escape(hunk.find), text)]
            if elsewhere:
                detail += f"; it occurs outside that region, at line {', '.join(map(str, elsewhere))}"
        else:
            detail += f"found {count} times after anchor {hunk.anchor!r} in {what} ({span}): make it longer"
        raise Stale(detail)
    at = start + region.index(hunk.find)
    return text[:at] + hunk.replace + text[at + len(hunk.find):], line_of(text, at)


def mutate(mutant: Mutant, root: Path) -> tuple[str, str, list[int]]:
    """(original, mutated, lines changed) for the mutant's file under root;
    raises Stale if it does not apply."""
    path = root / mutant.file
    if not path.is_file():
        raise Stale(f"file {mutant.file} not found")
    original = path.read_text(encoding="utf-8")
    text, lines = original, []
    for n, hunk in enumerate(mutant.hunks, 1):
        what = mutant.file + (f" (hunk {n})" if len(mutant.hunks) > 1 else "")
        text, line = apply_hunk(text, hunk, what)
        lines.append(line)
    return original, text, lines


# ---------------------------------------------------------------------------
# The scratch copy


def source_files() -> list[str]:
    """Tracked and untracked-but-not-ignored files of the working tree,
    without top-level build*/ folders and files deleted but not yet staged."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode()
    files = []
    for rel in sorted(set(filter(None, out.split("\0")))):
        top = rel.split("/", 1)[0]
        if top.startswith("build") or top == ".git":
            continue
        if (REPO / rel).is_file() or (REPO / rel).is_symlink():
            files.append(rel)
    return files


def sync_tree(tree: Path) -> tuple[int, int]:
    """Makes tree a copy of the working tree. Only changed files are written
    (and get a new mtime, so the build picks them up); files gone from the
    working tree are deleted. tree/build (the build) is left alone."""
    wanted = source_files()
    copied = 0
    for rel in wanted:
        src, dst = REPO / rel, tree / rel
        if src.is_symlink():
            if dst.is_symlink() and os.readlink(dst) == os.readlink(src):
                continue
            if dst.exists() or dst.is_symlink():
                dst.unlink()
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(src), dst)
            copied += 1
            continue
        data = src.read_bytes()
        if dst.is_file() and not dst.is_symlink() and dst.read_bytes() == data:
            if (os.stat(src).st_mode & 0o777) != (os.stat(dst).st_mode & 0o777):
                shutil.copymode(src, dst)
            continue
        if dst.is_symlink() or dst.is_dir():
            shutil.rmtree(dst) if dst.is_dir() and not dst.is_symlink() else dst.unlink()
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)  # a fresh mtime: never older than objects built from a mutant
        shutil.copymode(src, dst)
        copied += 1
    keep = set(wanted)
    removed = 0
    for dirpath, dirnames, filenames in os.walk(tree):
        rel_dir = Path(dirpath).relative_to(tree)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d != BUILD_SUBDIR]
        for f in filenames:
            rel = (rel_dir / f).as_posix()
            if rel not in keep:
                (Path(dirpath) / f).unlink()
                removed += 1
    return copied, removed


# ---------------------------------------------------------------------------
# Building and testing


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The tests must run the scratch build's binary, never one named here.
    env.pop("ENCHUFE_BINARY", None)
    return env


@dataclass
class Run:
    code: int | None  # None: timed out
    output: str
    seconds: float


def run_logged(cmd: list[str], cwd: Path, log: Path, timeout: float | None) -> Run:
    """Runs cmd in its own process group with output to log (and returned).
    On timeout or Ctrl-C the whole group is killed."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log, "w", encoding="utf-8", errors="replace") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=child_env(),
                                start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            code = None
        except BaseException:
            kill_group(proc)
            raise
    return Run(code, log.read_text(encoding="utf-8", errors="replace"), time.monotonic() - started)


def kill_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 30)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# " 12/160 Test  #37: integration.chat.Basics.Quit .......***Failed    0.52 sec"
RESULT = re.compile(r"^\s*\d+/\d+\s+Test\s+#\d+:\s+(\S+)\s+\.*\s*(.*?)\s+[\d.]+\s+sec\s*$")
NOT_FAILED = ("Passed", "***Skipped")


def first_failure(output: str) -> tuple[str, str] | None:
    """(test, how) of the first test ctest reported as not passing."""
    for line in output.splitlines():
        m = RESULT.match(line)
        if m and m.group(2).strip() not in NOT_FAILED:
            return m.group(1), m.group(2).strip().strip("*").replace("***", " ").strip()
    # A test that could not run at all ("Could not find executable") may lack a result line.
    m = re.search(r"The following tests FAILED:\s*\n\s*\d+\s+-\s+(\S+)\s+\(([^)]*)\)", output)
    return (m.group(1), m.group(2)) if m else None


def no_tests_found(output: str) -> bool:
    # Also what ctest says after a regex it cannot compile.
    return "No tests were found" in output or "RegularExpression::compile()" in output


def fmt_seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 100 else f"{int(s // 60)} min {int(s % 60):02d} s"


# ---------------------------------------------------------------------------
# The run


@dataclass
class Result:
    mutant: Mutant
    status: str  # killed, survived, stale, error, timeout
    test: str = ""
    detail: str = ""
    seconds: float = 0.0
    by_hint: bool = False  # killed by one of its `kills:` tests


class Runner:
    def __init__(self, scratch: Path, args: argparse.Namespace):
        self.scratch = scratch
        self.tree = scratch / "tree"
        self.logs = scratch / "logs"
        self.args = args

    def say(self, text: str) -> None:
        print(text, flush=True)

    def cmake(self, what: str, cmd: list[str], log_name: str, quiet: bool = False) -> Run:
        run = run_logged(cmd, self.tree, self.logs / log_name, self.args.build_timeout)
        if run.code != 0:
            lines = run.output.splitlines()
            # A mutant that does not compile: its first errors say enough.
            shown = [l for l in lines if " error: " in l][:5] if quiet else lines[-40:]
            self.say("\n".join(shown or lines[-10:]) + f"\nmutants: {what} failed (log: {self.logs / log_name})")
        return run

    def build(self, log_name: str, quiet: bool = False) -> Run:
        return self.cmake("build", ["cmake", "--build", "--preset", PRESET], log_name, quiet)

    def prepare(self) -> bool:
        self.tree.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        copied, removed = sync_tree(self.tree)
        self.say(f"scratch copy {self.tree.relative_to(REPO) if self.tree.is_relative_to(REPO) else self.tree}: "
                 f"{copied} files updated, {removed} removed")
        if self.cmake("configure", ["cmake", "--preset", PRESET], "configure.log").code != 0:
            return False
        self.say("building the unmutated copy (the first time builds everything; later runs are incremental)...")
        run = self.build("build.log")
        if run.code != 0:
            self.say("mutants: the unmutated source does not build; fix that first")
            return False
        self.say(f"built in {fmt_seconds(time.monotonic() - started)}")
        return True

    def ctest(self, extra: list[str], log_name: str, timeout: float) -> Run:
        cmd = ["ctest", "--preset", PRESET, "--stop-on-failure", *extra]
        return run_logged(cmd, self.tree, self.logs / log_name, timeout)

    def baseline(self, mutants: list[Mutant]) -> bool:
        """The hinted tests must pass on the unmutated build, or a "kill" by
        them means nothing."""
        if self.args.full_baseline:
            self.say("baseline: the whole suite on the unmutated build...")
            run = self.ctest([], "baseline.log", self.args.suite_timeout)
        else:
            self.say("baseline: the mutants' hinted tests on the unmutated build...")
            seconds = 0.0
            for n, regex in enumerate(union_regexes([m.kills for m in mutants]), 1):
                run = self.ctest(["-R", regex], f"baseline.{n}.log", self.args.suite_timeout)
                seconds += run.seconds
                if run.code != 0 or no_tests_found(run.output):
                    break
            run.seconds = seconds
        log = self.logs / ("baseline.log" if self.args.full_baseline else f"baseline.{n}.log")
        if run.code == 0 and not no_tests_found(run.output):
            self.say(f"baseline passed ({fmt_seconds(run.seconds)})")
            return True
        if no_tests_found(run.output):
            self.say(f"mutants: baseline: no test matches the hints; log: {log}")
            return False
        failed = first_failure(run.output)
        why = "timed out" if run.code is None else f"{failed[0]} fails ({failed[1]})" if failed else "ctest failed"
        self.say(f"mutants: baseline {why} without any mutant; fix that (or the flaky test) first. Log: {log}")
        return False

    def run_mutant(self, mutant: Mutant) -> Result:
        started = time.monotonic()
        path = self.tree / mutant.file
        try:
            original, mutated, lines = mutate(mutant, self.tree)
        except Stale as e:
            return Result(mutant, "stale", detail=str(e))
        where = ", ".join(f"{mutant.file}:{n}" for n in lines)
        try:
            path.write_text(mutated, encoding="utf-8")
            self.say(f"  applied at {where}; building...")
            build = self.build(f"{mutant.name}.build.log", quiet=True)
            if build.code != 0:
                status = "timeout" if build.code is None else "error"
                what = "mutant does not compile" if build.code else "build timed out"
                return Result(mutant, status, detail=f"{what} (log: {self.logs / (mutant.name + '.build.log')})",
                              seconds=time.monotonic() - started)
            self.say(f"  built ({fmt_seconds(build.seconds)})")
            if self.args.compile_only:
                return Result(mutant, "compiled", seconds=time.monotonic() - started)
            return self.test_mutant(mutant, started)
        finally:
            # A fresh mtime, newer than the mutant's objects: the next build
            # recompiles the original.
            path.write_text(original, encoding="utf-8")

    def test_mutant(self, mutant: Mutant, started: float) -> Result:
        elapsed = lambda: time.monotonic() - started  # noqa: E731
        hint = self.ctest(["-R", mutant.kills], f"{mutant.name}.hinted.log", self.args.hint_timeout)
        note = ""
        if hint.code is None:
            return Result(mutant, "timeout", detail=f"hinted tests ran over {fmt_seconds(self.args.hint_timeout)}",
                          seconds=elapsed())
        if no_tests_found(hint.output):
            note = f"kills: {mutant.kills!r} matches no test"
            self.say(f"  warning: {note}")
        elif hint.code != 0:
            failed = first_failure(hint.output)
            if failed:
                self.say(f"  killed by hinted test {failed[0]} ({failed[1]}, {fmt_seconds(hint.seconds)})")
                return Result(mutant, "killed", test=failed[0], seconds=elapsed(), by_hint=True)
            note = "hinted ctest run failed without a failing test (see its log)"
            self.say(f"  warning: {note}")
        else:
            self.say(f"  hinted tests pass ({fmt_seconds(hint.seconds)}); running the rest of the suite...")
        suite = self.ctest(["-E", mutant.kills] if not no_tests_found(hint.output) else [],
                           f"{mutant.name}.suite.log", self.args.suite_timeout)
        if suite.code is None:
            return Result(mutant, "timeout", detail=f"the suite ran over {fmt_seconds(self.args.suite_timeout)}",
                          seconds=elapsed())
        failed = first_failure(suite.output)
        if suite.code != 0 and failed:
            self.say(f"  killed by {failed[0]} ({failed[1]}, suite {fmt_seconds(suite.seconds)})")
            return Result(mutant, "killed", test=failed[0], detail=note, seconds=elapsed())
        if suite.code != 0:
            return Result(mutant, "error", detail=f"ctest failed without a failing test; "
                          f"see {self.logs / (mutant.name + '.suite.log')}", seconds=elapsed())
        self.say(f"  SURVIVED: every test passes ({fmt_seconds(suite.seconds)})")
        return Result(mutant, "survived", detail=note, seconds=elapsed())


def print_table(results: list[Result]) -> None:
    if not results:
        return
    rows = [("mutant", "status", "killing test", "time")]
    for r in results:
        rows.append((r.mutant.name, r.status, r.test or "-", fmt_seconds(r.seconds) if r.seconds else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print()
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    notes = [r for r in results
             if r.status not in ("killed", "compiled") or r.detail or (r.status == "killed" and not r.by_hint)]
    if notes:
        print()
    for r in notes:
        if r.status == "survived":
            print(f"{r.mutant.name}: survived; no test catches this bug: {r.mutant.why}"
                  + (f" ({r.detail})" if r.detail else ""))
        elif r.status == "stale":
            print(f"mutant {r.mutant.name} no longer applies: {r.detail}. "
                  f"Update {r.mutant.path.relative_to(REPO)} to the code as it is now.")
        elif r.status == "killed" and not r.by_hint:
            print(f"{r.mutant.name}: killed by {r.test}, which its kills: regex does not match"
                  + (f" ({r.detail})" if r.detail else "") + "; point kills: at it to find it sooner")
        elif r.detail:
            print(f"{r.mutant.name}: {r.detail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=os.environ.get("MUTANTS", ""), metavar="NAMES",
                        help="comma-separated names or regexes (default: $MUTANTS, else all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--check", action="store_true",
                        help="only check that each mutant applies to the working tree (no copy, no build)")
    parser.add_argument("--compile-only", action="store_true", help="apply and build each mutant; run no tests")
    parser.add_argument("--scratch", type=Path, default=REPO / "build-mutants",
                        help="scratch folder, kept between runs (default: build-mutants/)")
    parser.add_argument("--full-baseline", action="store_true",
                        help="run the whole suite on the unmutated build first (default: the hinted tests)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline run")
    parser.add_argument("--hint-timeout", type=float, default=600, help="seconds for a hinted ctest run")
    parser.add_argument("--suite-timeout", type=float, default=1800, help="seconds for a whole-suite ctest run")
    parser.add_argument("--build-timeout", type=float, default=3600, help="seconds for one build")
    args = parser.parse_args()

    try:
        mutants = select(load_mutants(), args.only)
    except DefinitionError as e:
        print(f"mutants: bad definition: {e}", file=sys.stderr)
        return 2

    if args.list:
        for m in mutants:
            print(f"{m.name}\n    {m.file}: {m.why}\n    kills: {m.kills}")
        return 0

    if args.check:
        bad = 0
        for m in mutants:
            try:
                _, _, lines = mutate(m, REPO)
                print(f"ok     {m.name} ({', '.join(f'{m.file}:{n}' for n in lines)})")
            except Stale as e:
                bad += 1
                print(f"STALE  mutant {m.name} no longer applies: {e}")
        return 1 if bad else 0

    scratch = args.scratch.resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    lock = open(scratch / ".lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"mutants: another run is using {scratch}", file=sys.stderr)
        return 2

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    # SIGTERM too restores the mutated file (a SIGKILL cannot, but the next
    # run's copy step does, since the file then differs from the working tree).
    signal.signal(signal.SIGTERM, interrupted)
    runner = Runner(scratch, args)
    started = time.monotonic()
    results: list[Result] = []
    # Every selected mutant must apply before anything is built: stale ones
    # are reported (loudly) and the rest still run.
    runnable = []
    for m in mutants:
        try:
            mutate(m, REPO)
            runnable.append(m)
        except Stale as e:
            print(f"mutant {m.name} NO LONGER APPLIES: {e}", flush=True)
    if runnable:
        if not runner.prepare():
            return 2
        if not (args.no_baseline or args.compile_only) and not runner.baseline(runnable):
            return 2
    try:
        for n, m in enumerate(mutants, 1):
            print(f"\n[{n}/{len(mutants)}] {m.name}: {m.why}", flush=True)
            result = runner.run_mutant(m)
            if result.status == "stale":
                print(f"  mutant {m.name} NO LONGER APPLIES: {result.detail}", flush=True)
            elif result.status in ("error", "timeout"):
                print(f"  {result.status.upper()}: {result.detail}", flush=True)
            results.append(result)
    except KeyboardInterrupt:
        print("\ninterrupted; the mutated file is restored", file=sys.stderr)
        print_table(results)
        return 130
    print_table(results)
    ok = all(r.status in ("killed", "compiled") for r in results)
    print(f"\n{len(results)} mutant{'s' if len(results) != 1 else ''} in {fmt_seconds(time.monotonic() - started)}: "
          + ", ".join(f"{sum(r.status == s for r in results)} {s}"
                      for s in ("killed", "compiled", "survived", "stale", "error", "timeout")
                      if any(r.status == s for r in results)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
