"""MkDocs hooks for the kubeuser site (see ``hooks:`` in mkdocs.yml).

A few pages are written alongside other work (the local cluster guide, troubleshooting, benchmarks,
the users file format).
Until such a page exists, ``mkdocs build --strict`` would fail on its nav entry and on links to it.
This hook drops the nav entry of a *listed* optional page that is missing and turns links to it into
plain text, logging both at INFO. Any other missing page or broken link still fails the strict build.
"""

from __future__ import annotations

import logging
import pathlib
import re
from typing import Any

log = logging.getLogger("mkdocs.hooks.kubeuser")

OPTIONAL_PAGES = frozenset({"local-cluster.md", "troubleshooting.md", "benchmarks.md", "users-as-code.md"})

_missing: set[str] = set()


def _prune(items: list[Any], docs_dir: pathlib.Path) -> list[Any]:
    kept: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            title, value = next(iter(item.items()))
            if isinstance(value, list):
                value = _prune(value, docs_dir)
                if value:
                    kept.append({title: value})
                continue
            if isinstance(value, str) and value in OPTIONAL_PAGES and not (docs_dir / value).is_file():
                _missing.add(value)
                log.info("optional page %s is not there yet: left out of the nav", value)
                continue
        elif isinstance(item, str) and item in OPTIONAL_PAGES and not (docs_dir / item).is_file():
            _missing.add(item)
            continue
        kept.append(item)
    return kept


def on_config(config: Any) -> Any:
    _missing.clear()
    docs_dir = pathlib.Path(config["docs_dir"])
    if config.get("nav"):
        config["nav"] = _prune(config["nav"], docs_dir)
    for name in OPTIONAL_PAGES:
        if not (docs_dir / name).is_file():
            _missing.add(name)
    return config


_LINK = re.compile(r"\[([^\]]+)\]\(((?:\.\./)*)([a-z0-9-]+\.md)(#[^)]*)?\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if not _missing:
        return markdown

    def unlink(m: re.Match[str]) -> str:
        if m.group(3) in _missing:
            log.info("%s: link to missing optional page %s shown as text", page.file.src_uri, m.group(3))
            return m.group(1)
        return m.group(0)

    return _LINK.sub(unlink, markdown)
