"""--enqueue-cmd: the stand-in API's own enqueue path for video ARGV[1] (its log lines, its message)."""

import os
import sys

import _path  # noqa: F401

from reference import configure_logging, db
from reference.api.app import ApiSettings, VideoApi

configure_logging("api")  # the API's settings, so the API's log format
video_id = int(sys.argv[1])
with db.connect() as conn:
    row = db.get_video(conn, video_id)
if row is None:
    sys.exit(f"enqueue: video {video_id} not found")
sent = VideoApi(ApiSettings.from_env(os.environ), os.environ).enqueue(row)
print(f"enqueue: video_id={video_id} {'sent' if sent else 'not sent'}")
sys.exit(0 if sent else 1)
