"""--seed-cmd: one UPLOADED video for the clip at $RUNBOOK_FILE_KEY; its id is the last stdout line."""

import os

import _path  # noqa: F401

from reference import db

key = os.environ["RUNBOOK_FILE_KEY"]
with db.connect() as conn:
    row = db.create_video(conn, video_id=None, session_id=None, tenant_id=1, file_key=key)
print(f"seed: video_id={row['id']} status={row['status']} file_key={key}")
print(row["id"])
