"""`python -m router registry check FILE`: reads a jurisdiction file (CSV, or JSON with a
`.json` name) as an import would, and prints what it holds or every problem by line and field."""

import argparse
import hashlib
import sys
from collections import Counter
from pathlib import Path

from contracts.registry_file import LADDER, RegistryFileError, read_registry_file


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m router registry")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="read a jurisdiction file and report on it")
    check.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    return check_file(args.file)


def check_file(path: Path) -> int:
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"{path}: cannot be read as UTF-8 text: {error}", file=sys.stderr)
        return 2
    version = f"{path.stem}-{hashlib.sha256(raw).hexdigest()[:12]}"
    try:
        document = read_registry_file(text, json_format=path.suffix == ".json", version=version)
    except RegistryFileError as refused:
        for problem in refused.problems:
            print(f"{path}: {problem}", file=sys.stderr)
        summary = f"{len(refused.problems)} problem(s); nothing would be loaded"
        print(f"{path}: {summary}", file=sys.stderr)
        return 1
    kinds = Counter(unit["kind"] for unit in document["units"])
    counts = ", ".join(f"{kinds[kind]} {kind}" for kind in LADDER if kinds[kind])
    print(
        f"{path}: version {version}: {counts}; {len(document['mediators'])} mediators, "
        f"{len(document['wechat_groups'])} WeChat groups"
    )
    return 0
