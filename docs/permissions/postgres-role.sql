-- The live run's PostgreSQL role: SELECT on the tables the run reads, read-only transactions, short statements.
--
--   psql -d academy -v runbook_password="$(openssl rand -hex 24)" -f docs/permissions/postgres-role.sql
--
-- run as the tables' owner or a superuser, in the application's database (psql's :DBNAME is that database).
-- The live run then connects with DB_USER=runbook and DB_PASSWORD=<that password> (or a DATABASE_URL with them).
-- default_transaction_read_only refuses writes even where a grant would allow one; the role holds no grant
-- but SELECT. On PostgreSQL < 15 every role may CREATE in schema public (PUBLIC's default): revoke that there
-- if no application relies on it (REVOKE CREATE ON SCHEMA public FROM PUBLIC).
CREATE ROLE runbook LOGIN PASSWORD :'runbook_password' CONNECTION LIMIT 4;
ALTER ROLE runbook SET default_transaction_read_only = on;
ALTER ROLE runbook SET statement_timeout = '10s';
ALTER ROLE runbook SET idle_in_transaction_session_timeout = '10s';
GRANT CONNECT ON DATABASE :"DBNAME" TO runbook;
GRANT USAGE ON SCHEMA public TO runbook;
-- §9 and the canary: id, status, hls_path, processing_started_at / updated_at of the video table (--video-table)
GRANT SELECT ON TABLE video_video TO runbook;
-- the tenant of a video (video -> session -> lecture -> tenant), for the tenant-scoped Redis keys
GRANT SELECT ON TABLE lectures_session, lectures_lecture, core_tenant TO runbook;
