"""The fleet table of the report (issue 18): one row per instance of the ASG, under §1's boot check.

Columns: instance, the group's lifecycle state, EC2's state, launch time, boot outcome (from its console),
the worker container now and the last video it received (from ``--asg-logs ssm``), the cause found on it.
When the instances' logs were read, the exact command sent to each one is shown above the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from runbook.secrets import scrub
from runbook.texts import LABELS

_COLUMNS = ("instance_id", "lifecycle", "state", "launched", "boot", "container", "last_video", "cause")
_LABELS = ("ft_instance", "ft_lifecycle", "ft_state", "ft_launched", "ft_boot", "ft_container", "ft_last_video",
           "ft_cause")  # fmt: skip


def fleet_table(table: Mapping[str, object], lang: str) -> str:
    """``{"kind": "fleet", "rows": [...], "command": ..., "document": ..., "command_id": ...}`` as HTML."""
    labels = LABELS[lang]
    rows = [row for row in table.get("rows") or () if isinstance(row, Mapping)]  # type: ignore[attr-defined]
    head = "".join(f"<th>{escape(labels.get(key, key))}</th>" for key in _LABELS)
    body = []
    for row in rows:
        cells = "".join(f"<td>{escape(scrub(str(row.get(column, ''))))}</td>" for column in _COLUMNS)
        instance, cause = escape(str(row.get("instance_id"))), escape(str(row.get("cause", "")))
        body.append(f'<tr data-instance="{instance}" data-cause="{cause}">{cells}</tr>')
    sent = ""
    if table.get("command"):
        caption = labels["fleet_sent"].format(
            document=table.get("document", ""), command_id=table.get("command_id", "")
        )
        command = escape(scrub(str(table["command"])))
        sent = f'<div class="rb-msgline">{escape(caption)}</div><code class="rb-cmd">{command}</code>'
    title = labels["fleet_table"].format(n=len(rows))
    return (
        f'<details class="rb-vt rb-fleet" open><summary>{escape(title)}</summary>{sent}<div class="rb-vt-wrap"><table>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div></details>"
    )
