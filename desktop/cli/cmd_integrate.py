"""``sightline integrate``: put "Describe with Sightline" into the file manager, per user.

install/uninstall/status act on this machine; ``plan --platform X`` prints what any
OS's install would write, computed by the same code (so each OS's plan is testable
anywhere). The release installers run ``integrate install`` / ``integrate uninstall``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.integrate.plan import Plan

# Every CLI start builds the parser (this module's ``register``); the integration code is
# imported only when an integrate command runs, so it adds nothing to `describe` starts.
PLATFORMS = ("linux", "windows", "macos")


def _plan(platform: str | None = None) -> Plan:
    from desktop.integrate.platforms import plan_for

    return plan_for(platform)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("integrate", help='add "Describe with Sightline" to the file manager')
    actions = p.add_subparsers(dest="integrate_command", metavar="ACTION", required=True)

    q = actions.add_parser("install", help="add the right-click actions for this user")
    q.add_argument(
        "--dry-run", action="store_true", help="list what would be written; write nothing"
    )
    q.add_argument("--json", action="store_true", help="one JSON object")
    q.set_defaults(func=run_install)

    q = actions.add_parser("uninstall", help="remove exactly what install added")
    q.add_argument("--dry-run", action="store_true", help="list what would be removed")
    q.set_defaults(func=run_uninstall)

    q = actions.add_parser("status", help="what is installed, per file manager")
    q.add_argument("--json", action="store_true", help="one JSON object")
    q.set_defaults(func=run_status)

    q = actions.add_parser("plan", help="every file or registry key an OS's install writes")
    q.add_argument("--platform", choices=PLATFORMS, help="default: this OS")
    q.add_argument("--json", action="store_true", help="one JSON object")
    q.set_defaults(func=run_plan)


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def run_install(args: argparse.Namespace) -> int:
    from desktop.integrate import installer

    plan = _plan()
    changes, ran = installer.install(plan, dry_run=args.dry_run)
    if args.json:
        _print_json(
            {
                "platform": plan.platform,
                "dry_run": args.dry_run,
                "command": list(plan.command),
                "items": [c.to_json() for c in changes],
                "refreshed": ran,
            }
        )
        return 0
    verb = "would write" if args.dry_run else "wrote"
    for change in changes:
        print(f"{verb if change.changed else 'unchanged'}\t{change.path}")
    for command in ran:
        print(f"ran\t{' '.join(command)}")
    return 0


def run_uninstall(args: argparse.Namespace) -> int:
    from desktop.integrate import installer

    changes, ran = installer.uninstall(_plan(), dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for change in changes:
        if change.changed:
            print(f"{verb}\t{change.path}")
    if not any(c.changed for c in changes):
        print("nothing to remove", file=sys.stderr)
    for command in ran:
        print(f"ran\t{' '.join(command)}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from desktop.integrate import installer

    plan = _plan()
    states = installer.status(plan)
    if args.json:
        _print_json(
            {
                "platform": plan.platform,
                "command": list(plan.command),
                "file_managers": [s.to_json() for s in states],
            }
        )
        return 0
    for s in states:
        state = "not installed"
        if s.installed:
            state = "installed" if s.current else "installed, for another Sightline executable"
        print(f"{s.manager:<14} {state}")
    return 0


def run_plan(args: argparse.Namespace) -> int:
    plan = _plan(args.platform)
    if args.json:
        _print_json(plan.to_json())
        return 0
    for item in plan.items:
        print(f"{item.manager:<14} {item.path}")
    return 0
