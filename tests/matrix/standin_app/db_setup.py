"""--db-setup-cmd: create the stand-in's schema on the empty database (a backend's migrations)."""

import _path  # noqa: F401

from reference import db

with db.connect() as conn:  # DATABASE_URL / DB_* from the environment
    db.create_schema(conn)
print("db-setup: stand-in schema created")
