"""macOS: a Quick Action ("Describe with Sightline") in ~/Library/Services.

Finder shows a Services workflow for the file types its Info.plist names in
``NSSendFileTypes``; the workflow runs one shell step that passes every selected
file to ``describe --popup``. ``pbs -update`` makes Finder re-read the Services menu.
"""

from __future__ import annotations

import plistlib
import shlex
from pathlib import Path
from typing import Any

from desktop.integrate.plan import DESCRIBE_LABEL, MARKER, FileItem, Plan

SEND_TYPES = ("public.image", "com.adobe.pdf")
PBS = "/System/Library/CoreServices/pbs"


def services_folder() -> Path:
    return Path.home() / "Library" / "Services"


def _plist(data: dict[str, Any]) -> str:
    return plistlib.dumps(data, fmt=plistlib.FMT_XML).decode()


def info_plist() -> dict[str, Any]:
    return {
        "CFBundleIdentifier": "org.sightline.describe-workflow",
        "CFBundleName": DESCRIBE_LABEL,
        "SightlineIntegration": MARKER,
        "NSServices": [
            {
                "NSMenuItem": {"default": DESCRIBE_LABEL},
                "NSMessage": "runWorkflowAsService",
                "NSRequiredContext": {"NSApplicationIdentifier": "com.apple.finder"},
                "NSSendFileTypes": list(SEND_TYPES),
            }
        ],
    }


def document_wflow(command: tuple[str, ...]) -> dict[str, Any]:
    script = f'exec {shlex.join([*command, "describe", "--popup"])} "$@"\n'
    return {
        "AMApplicationBuild": "523",
        "AMApplicationVersion": "2.10",
        "AMDocumentVersion": "2",
        "SightlineIntegration": MARKER,
        "actions": [
            {
                "action": {
                    "AMAccepts": {
                        "Container": "List",
                        "Optional": True,
                        "Types": ["com.apple.cocoa.string"],
                    },
                    "AMActionVersion": "2.0.3",
                    "AMApplication": ["Automator"],
                    "AMParameterProperties": {
                        "COMMAND_STRING": {},
                        "CheckedForUserDefaultShell": {},
                        "inputMethod": {},
                        "shell": {},
                        "source": {},
                    },
                    "AMProvides": {"Container": "List", "Types": ["com.apple.cocoa.string"]},
                    "ActionBundlePath": "/System/Library/Automator/Run Shell Script.action",
                    "ActionName": "Run Shell Script",
                    "ActionParameters": {
                        "COMMAND_STRING": script,
                        "CheckedForUserDefaultShell": True,
                        "inputMethod": 1,  # the selected files as arguments ("$@")
                        "shell": "/bin/sh",
                        "source": "",
                    },
                    "BundleIdentifier": "com.apple.RunShellScript",
                    "CFBundleVersion": "2.0.3",
                    "CanShowSelectedItemsWhenRun": False,
                    "CanShowWhenRun": True,
                    "Class Name": "RunShellScriptAction",
                    "InputUUID": "5C1E3A3E-6F41-4D4C-9E43-7B0C2B9E0A01",
                    "OutputUUID": "5C1E3A3E-6F41-4D4C-9E43-7B0C2B9E0A02",
                    "UUID": "5C1E3A3E-6F41-4D4C-9E43-7B0C2B9E0A03",
                    "isViewVisible": 1,
                }
            }
        ],
        "connectors": {},
        "workflowMetaData": {
            "applicationBundleIDsByPath": {},
            "applicationPaths": [],
            "inputTypeIdentifier": "com.apple.Automator.fileSystemObject",
            "outputTypeIdentifier": "com.apple.Automator.nothing",
            "presentationMode": 15,
            "processesInput": False,
            "serviceInputTypeIdentifier": "com.apple.Automator.fileSystemObject",
            "serviceOutputTypeIdentifier": "com.apple.Automator.nothing",
            "serviceProcessesInput": False,
            "systemImageName": "NSActionTemplate",
            "useAutomaticInputType": False,
            "workflowTypeIdentifier": "com.apple.Automator.servicesMenu",
        },
    }


def build(command: tuple[str, ...]) -> Plan:
    services = services_folder()
    contents = services / f"{DESCRIBE_LABEL}.workflow" / "Contents"
    return Plan(
        platform="macos",
        command=command,
        items=(
            FileItem("finder", str(contents / "Info.plist"), _plist(info_plist())),
            FileItem("finder", str(contents / "document.wflow"), _plist(document_wflow(command))),
        ),
        roots=(str(services),),
        refresh=((PBS, "-update"),),
    )
