"""``keys set|delete|status``: cloud API keys, kept in the OS keychain.

A key is never taken from the command line, where shell history and process
lists would keep it: it is typed without echo, or piped on stdin.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from desktop.keys import (
    ENV_VARS,
    delete_key,
    key_status,
    provider_named,
    set_key,
)
from models.cloud.limits import PROVIDERS, TITLES
from models.errors import InputError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keys", help="API keys for cloud models (stored in the OS keychain)")
    keys = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)

    s = keys.add_parser("set", help="store a key: typed without echo, or piped on stdin")
    s.add_argument("provider", metavar="PROVIDER", help=" | ".join(PROVIDERS))
    s.set_defaults(func=run_set)

    d = keys.add_parser("delete", help="forget a stored key")
    d.add_argument("provider", metavar="PROVIDER", help=" | ".join(PROVIDERS))
    d.set_defaults(func=run_delete)

    st = keys.add_parser("status", help="which providers have a key (never the key)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=run_status)


def _say(text: str) -> None:
    print(f"sightline: {text}", file=sys.stderr, flush=True)


def _read_key(title: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(f"{title} API key (not shown): ")
    line = sys.stdin.readline()
    return line.strip()


def run_set(args: argparse.Namespace) -> int:
    provider = provider_named(args.provider)
    title = TITLES[provider]
    key = _read_key(title)
    if not key:
        raise InputError(f"no key given for {title} (type it, or pipe it on stdin)")
    stored = set_key(provider, key)
    if stored.notice:
        _say(stored.notice)
    else:
        _say(f"the {title} key is stored in the OS keychain")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    provider = provider_named(args.provider)
    title = TITLES[provider]
    if delete_key(provider):
        _say(f"the {title} key is deleted")
    else:
        _say(f"no stored {title} key")
    return 0


def run_status(args: argparse.Namespace) -> int:
    status = key_status()
    if args.json:
        print(json.dumps({p: {"has_key": s is not None, "source": s} for p, s in status.items()}))
        return 0
    for provider, source in status.items():
        if source == "environment":
            where = f"from {ENV_VARS[provider]}"
        elif source == "keychain":
            where = "in the OS keychain"
        elif source == "session":
            where = "in memory for this session"
        else:
            where = "no key"
        print(f"{provider:<10} {where}")
    return 0
