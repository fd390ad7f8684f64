"""The addon runs inside mitmproxy's own Python (standalone binaries too): it imports
only the standard library, mitmproxy and its own modules; the core imports no mitmproxy,
handles no bytes and uses no other module's private names; one module reads flows."""

import ast
import os
import sys

from conftest import ADDON_DIR

OWN = {"corscore", "cors_creds", "cors_capture", "cors_contentview", "cors_flow"}


def imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


def sources():
    for root, _, files in os.walk(ADDON_DIR):
        for f in files:
            if f.endswith(".py"):
                yield os.path.join(root, f)


def test_addon_imports_only_stdlib_mitmproxy_and_itself():
    # publicsuffix2: a dependency of mitmproxy 11 and 12 (its console uses it), so it is
    # wherever mitmproxy is; the core still works without it (corscore.cookies)
    allowed = set(sys.stdlib_module_names) | {"mitmproxy", "publicsuffix2"} | OWN
    bad = {(os.path.relpath(p, ADDON_DIR), m) for p in sources() for m in imports(p)
           if m not in allowed}
    assert not bad


def test_core_is_sans_io():
    core = [p for p in sources() if os.sep + "corscore" + os.sep in p]
    assert len(core) >= 8
    for p in core:
        assert not set(imports(p)) & {"mitmproxy", "socket", "asyncio", "logging", "cors_creds"}, p


def core_sources():
    return [p for p in sources() if os.sep + "corscore" + os.sep in p]


def test_core_handles_str_only_and_no_private_names_of_other_modules():
    for p in core_sources():
        tree = ast.parse(open(p, encoding="utf-8").read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not [a.name for a in node.names if a.name.startswith("_")], p
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("decode", "encode"), (p, node.lineno)
            if isinstance(node, ast.Name):
                assert node.id not in ("bytes", "bytearray"), (p, node.lineno)
            if isinstance(node, ast.Constant):
                assert not isinstance(node.value, bytes), (p, node.lineno)


def test_only_the_flow_reader_reads_header_fields():
    """One module knows mitmproxy's flows: no other reads the raw header fields."""
    readers = {os.path.relpath(p, ADDON_DIR) for p in sources()
               if ".headers.fields" in open(p, encoding="utf-8").read()}
    assert readers == {"cors_flow.py"}

