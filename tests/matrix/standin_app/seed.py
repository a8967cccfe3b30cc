"""--seed-cmd: one UPLOADED video for the clip at $RUNBOOK_FILE_KEY; its id is the last stdout line.

As the real backend's data: the video belongs to a session of a lecture of a tenant (created once, with the
hosts the API resolves the tenant by and a staff user), its row PENDING at upload init, UPLOADED when the
upload completes."""

import os

import _path  # noqa: F401

from reference import db

key = os.environ["RUNBOOK_FILE_KEY"]
with db.connect() as conn:  # DATABASE_URL / DB_* from the environment
    seeded = db.seed_tenant(
        conn,
        tenant_id=1,
        code="academy",
        hosts=("127.0.0.1", "localhost"),
        username="admin",
        password=os.environ.get("STANDIN_API_PASSWORD", "rehearsal"),
    )
    row = db.create_video(conn, video_id=None, session_id=seeded["session"], file_key=key)
    db.set_status(conn, row["id"], "UPLOADED")
    row = db.get_video(conn, row["id"])
print(f"seed: video_id={row['id']} status={row['status']} tenant={row['tenant_code']} file_key={key}")
print(row["id"])
