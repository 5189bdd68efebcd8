"""Benchmark the pages at fleet scale on PostgreSQL; prints JSON figures.

    python bench/pages.py --json                 # 100k clusters, 200k edge hosts, 20k profile versions, 5M timeline
    python bench/pages.py --scale small          # 1/100 of that, to try it out
    python bench/pages.py --skip-fill --explain  # time the pages again on the database of the last run

What runs: the bench drops and creates its own PostgreSQL database (`--database-url`, default
postgres://postgres@127.0.0.1:5432/palette_bench_pages), migrates it and fills it server-side
(INSERT ... SELECT over generate_series, values drawn from hashes of the row number, so every
run fills the same fleet). The precomputed tables come from the real code: ProfileUse from the
clusters' profile lists, `rollups.refresh_all_counts` per account, `rollups.record_sample`; the
sync history (SyncRun, SyncScope) is written as the sync would have left it, with a few failing,
partial, stale and running scopes. Then VACUUM ANALYZE.

Then every page that has a real view (not `placeholder.page`) and its htmx partial is requested
through Django's test client as a signed-in user: warm-ups, then --repeat timed requests (or
fewer when a page spends more than --budget seconds). Per page: p50/p95 wall time, the queries
it made, the time spent in them, and its slowest statements. Django admin's changelists, with
comparable filters, are timed the same way as the reference. --explain adds EXPLAIN (ANALYZE,
BUFFERS) of the slowest statements of every page over the goals (p95 <= 50 ms, <= 12 queries).
"""

import argparse
import html
import json
import os
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/palette_bench_pages"
FULL = {"clusters": 100_000, "hosts": 200_000, "profiles": 20_000, "timeline": 5_000_000}
GOAL_MS, GOAL_QUERIES = 50.0, 12
VERSIONS = 4  # versions per profile name
HOSTS_PER_SITE = 5
USERS = 2_950  # audit actors; with event components and the sync, about 3,000 actors
DAYS = 400


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print only the JSON figures (progress goes to stderr)")
    p.add_argument("--database-url", default=DEFAULT_URL, help=f"the bench's own database (default {DEFAULT_URL})")
    p.add_argument("--scale", choices=("full", "small"), default="full", help="small: 1/100 of every size")
    for name, size in FULL.items():
        p.add_argument(f"--{name}", type=int, help=f"rows to fill (full scale: {size:,})")
    p.add_argument("--projects", type=int, default=200, help="projects, half in each of 2 accounts (default 200)")
    p.add_argument("--run-hours", type=float, default=24, help="hours of sync runs per scope to fill (default 24)")
    p.add_argument("--skip-fill", action="store_true", help="reuse the database the last run filled")
    p.add_argument("--repeat", type=int, default=30, help="timed requests per page (default 30)")
    p.add_argument("--warmup", type=int, default=3, help="untimed requests per page first (default 3)")
    p.add_argument("--budget", type=float, default=15, help="seconds of timed requests per page at most (default 15)")
    p.add_argument("--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) slow pages' slowest queries")
    p.add_argument("--only", help="time only pages whose name contains this")
    args = p.parse_args(argv)
    divisor = 100 if args.scale == "small" else 1
    for name, size in FULL.items():
        if getattr(args, name) is None:
            setattr(args, name, size // divisor)
    if args.scale == "small" and args.projects == 200:
        args.projects = 20
    args.projects -= args.projects % 2
    return args


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def step(label: str, timings: dict) -> object:
    say(f"{label} ...")
    started = time.monotonic()
    yield
    timings[label] = round(time.monotonic() - started, 1)
    say(f"  {label}: {timings[label]} s")


# --- the database ----------------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(url)
    params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"] or None}
    if db["PASSWORD"]:
        params["password"] = db["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def sql(statement: str, params: dict | None = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def scalar(statement: str, params: dict | None = None) -> object:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
        return row[0] if row else None


@contextmanager
def without_indexes(table: str) -> object:
    """Drop a table's secondary indexes and unique constraints for a bulk load; build them again after."""
    constraints = [
        (name, definition)
        for name, definition in rows(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %(t)s::regclass"
            " AND contype = 'u'",
            {"t": table},
        )
    ]
    indexes = rows(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %(t)s AND i.indexname NOT IN"
        " (SELECT conname FROM pg_constraint WHERE conrelid = %(t)s::regclass)",
        {"t": table},
    )
    for name, _ in constraints:
        sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        sql(f'DROP INDEX "{name}"')
    yield
    for name, definition in constraints:
        sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    for _, definition in indexes:
        sql(definition)


def rows(statement: str, params: dict | None = None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


# Pure functions of a row number, so every table agrees on a row's name, uid and project without
# joins: r() is a per-mille draw, ri() an integer below m, uid() a 24-hex Palette-like uid. Each is a
# bare expression (no FROM, volatility as its body's) so that PostgreSQL inlines it: a call is then
# ~0.1 us instead of ~100 us.
FUNCTIONS = """
CREATE FUNCTION pg_temp.r(salt text, n bigint) RETURNS int LANGUAGE sql IMMUTABLE
  AS $$ SELECT (hashtext(salt || n::text) & 2147483647) % 1000 $$;
CREATE FUNCTION pg_temp.ri(salt text, n bigint, m bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
  AS $$ SELECT (hashtext(salt || n::text) & 2147483647)::bigint % greatest(m, 1) $$;
CREATE FUNCTION pg_temp.uid(salt text, n bigint) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT substr(md5(salt || n::text), 1, 24) $$;
CREATE FUNCTION pg_temp.iso(t timestamptz) RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
CREATE FUNCTION pg_temp.cloud(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT (ARRAY['edge-native', 'aws', 'eks', 'azure', 'aks', 'gcp', 'gke', 'vsphere', 'maas'])[
    1 + (pg_temp.r('cloud', n) >= 450)::int + (pg_temp.r('cloud', n) >= 570)::int
    + (pg_temp.r('cloud', n) >= 670)::int + (pg_temp.r('cloud', n) >= 740)::int
    + (pg_temp.r('cloud', n) >= 790)::int + (pg_temp.r('cloud', n) >= 830)::int
    + (pg_temp.r('cloud', n) >= 860)::int + (pg_temp.r('cloud', n) >= 950)::int] $$;
CREATE FUNCTION pg_temp.cluster_name(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN pg_temp.r('cloud', n) < 450 THEN 'store-' || lpad(n::text, 5, '0')
    ELSE pg_temp.cloud(n) || '-' || (ARRAY['prod', 'staging', 'dev', 'qa'])[1 + pg_temp.ri('env', n, 4)] || '-'
      || lpad(n::text, 5, '0') END $$;
CREATE FUNCTION pg_temp.host_name(m bigint) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT 'site-' || lpad((m / %(hps)s)::text, 5, '0') || '-h' || (m %% %(hps)s) $$;
CREATE FUNCTION pg_temp.profile_name(pn bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN (pn / 2) %% 4 = 0
    THEN (ARRAY['edge-k3s-base', 'ubuntu-infra', 'eks-base', 'rke2-base'])[1 + (pn / 8) %% 4]
    ELSE (ARRAY['pos-apps', 'edge-monitoring', 'observability', 'security-baseline', 'ingress', 'payments'])
      [1 + (pn / 2) %% 6] END || '-' || lpad(pn::text, 4, '0') $$;
CREATE FUNCTION pg_temp.profile_uid(pn bigint, v bigint) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT pg_temp.uid('profile' || pn || 'v', v) $$;
CREATE FUNCTION pg_temp.profile_k(pn bigint, p int) RETURNS int LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN pg_temp.r('scope', pn) < 200 THEN -1 ELSE ((pn / 2) %% (p / 2) + (pn %% 2) * (p / 2))::int END $$;
"""

# The projects as arrays (k = 0 .. P-1; the first half is account 0's), read by every fill.
PROJECTS = """CREATE TEMP TABLE bench_p AS
SELECT array_agg(id ORDER BY id) AS pids, array_agg(uid ORDER BY id) AS puids, array_agg(name ORDER BY id) AS pnames,
  (SELECT array_agg(id ORDER BY id) FROM dashboard_paletteaccount) AS accts
FROM dashboard_project"""

CLUSTERS = """
INSERT INTO dashboard_cluster (account_id, uid, name, created_at, modified_at, raw, first_seen_at, last_seen_at,
  removed_at, project_id, cloud_type, state, health, kubernetes_version, profiles, node_count, nodes_healthy,
  heartbeat_at, agent_version, location, state_since, health_since)
SELECT p.accts[1 + ai], uid, name, created, modified,
  jsonb_build_object(
    'metadata', jsonb_build_object('uid', uid, 'name', name, 'creationTimestamp', pg_temp.iso(created),
      'lastModifiedTimestamp', pg_temp.iso(modified), 'labels', jsonb_build_object('env', 'prod'),
      'annotations', jsonb_build_object('scope', 'project', 'projectUid', p.puids[1 + k])),
    'specSummary', jsonb_build_object(
      'cloudConfig', jsonb_build_object('cloudType', cloud, 'machinePools', jsonb_build_array(
        jsonb_build_object('cloudType', cloud, 'isControlPlane', true, 'size', cp, 'healthy', cp,
          'maintenanceMode', 0, 'labels', jsonb_build_array('control-plane')),
        jsonb_build_object('cloudType', cloud, 'isControlPlane', false, 'size', workers, 'healthy', wh,
          'maintenanceMode', 0, 'labels', jsonb_build_array('worker')))),
      'clusterProfileTemplates', jsonb_build_array(
        jsonb_build_object('uid', pu1, 'name', pname1, 'type', 'cluster', 'profileVersion', '1.' || v1 || '.0'),
        jsonb_build_object('uid', pu2, 'name', pname2, 'type', 'add-on', 'profileVersion', '1.' || v2 || '.0')),
      'projectMeta', jsonb_build_object('uid', p.puids[1 + k], 'name', p.pnames[1 + k])),
    'status', jsonb_build_object('state', state,
      'health', jsonb_build_object('state', health, 'agentVersion', agent,
        'lastHeartBeatTimestamp', coalesce(pg_temp.iso(heartbeat), '0001-01-01T00:00:00.000Z')),
      'location', jsonb_build_object('regionName', split_part(loc, ', ', 1), 'countryName', split_part(loc, ', ', 2)))),
  first_seen, CASE WHEN removed IS NULL THEN now() - interval '90 s' ELSE removed - interval '5 min' END, removed,
  p.pids[1 + k], cloud, state, health, k8s,
  jsonb_build_array(jsonb_build_object('uid', pu1, 'name', pname1, 'type', 'cluster', 'version', '1.' || v1 || '.0'),
    jsonb_build_object('uid', pu2, 'name', pname2, 'type', 'add-on', 'version', '1.' || v2 || '.0')),
  cp + workers, cp + wh, heartbeat, agent, loc,
  greatest(first_seen, now() - pg_temp.ri('ss', n, 60 * 86400) * interval '1 s'),
  greatest(first_seen, now() - pg_temp.ri('hs', n, 30 * 86400) * interval '1 s')
FROM bench_p p, generate_series(0, %(clusters)s - 1) AS n,
LATERAL (SELECT (n %% %(projects)s)::int AS k, pg_temp.cloud(n) AS cloud, pg_temp.uid('cluster', n) AS uid,
  pg_temp.cluster_name(n) AS name, pg_temp.r('state', n) AS rs, pg_temp.r('health', n) AS rh,
  now() - (30 + pg_temp.ri('created', n, 700)) * interval '1 day' AS created,
  now() - pg_temp.ri('modified', n, 30 * 86400) * interval '1 s' AS modified,
  CASE WHEN pg_temp.r('cp', n) < 700 THEN 1 ELSE 3 END AS cp, pg_temp.ri('workers', n, 6)::int AS workers,
  '4.4.' || pg_temp.ri('agent', n, 12) AS agent,
  (ARRAY['1.28.9', '1.29.6', '1.30.4', '1.31.2'])[1 + pg_temp.ri('k8s', n, 4)] AS k8s,
  (ARRAY['Berlin, Germany', 'Texas, United States', 'Ontario, Canada', 'Kanto, Japan', 'England, United Kingdom',
    'New South Wales, Australia', 'Ile-de-France, France'])[1 + pg_temp.ri('loc', n, 7)] AS loc,
  CASE WHEN pg_temp.r('b1', n) < 400 THEN pg_temp.ri('v1', n, 3) ELSE 3 END AS v1,
  CASE WHEN pg_temp.r('b2', n) < 400 THEN pg_temp.ri('v2', n, 3) ELSE 3 END AS v2,
  4 * pg_temp.ri('p1', n, %(names)s / 2 / 4) AS x1,
  4 * pg_temp.ri('p2', n, %(names)s / 2 / 4) + 1 + pg_temp.ri('p3', n, 3) AS x2 OFFSET 0) a,
LATERAL (SELECT CASE WHEN k < %(projects)s / 2 THEN 0 ELSE 1 END AS ai,
  CASE WHEN rs < 860 THEN 'Running' WHEN rs < 890 THEN 'Provisioning' WHEN rs < 905 THEN 'Pending'
    WHEN rs < 945 THEN 'Error' WHEN rs < 960 THEN 'Deleting' WHEN rs < 975 THEN 'Importing' ELSE 'Deleted' END AS state,
  greatest(created, now() - %(days)s * interval '1 day') AS first_seen OFFSET 0) b,
LATERAL (SELECT 2 * x1 + ai AS pn1, 2 * x2 + ai AS pn2,
  CASE WHEN state = 'Running' THEN CASE WHEN rh < 840 THEN 'Healthy' WHEN rh < 940 THEN 'UnHealthy' ELSE '' END
    WHEN state = 'Error' THEN CASE WHEN rh < 700 THEN 'UnHealthy' ELSE '' END ELSE '' END AS health,
  CASE WHEN state = 'Deleted' THEN now() - pg_temp.ri('removed', n, %(days)s * 24) * interval '1 hour' END AS removed
  OFFSET 0) c,
LATERAL (SELECT pg_temp.profile_uid(pn1, v1) AS pu1, pg_temp.profile_name(pn1) AS pname1,
  pg_temp.profile_uid(pn2, v2) AS pu2, pg_temp.profile_name(pn2) AS pname2,
  CASE WHEN health = 'Healthy' THEN workers ELSE pg_temp.ri('wh', n, workers + 1)::int END AS wh,
  CASE WHEN state IN ('Pending', 'Provisioning') THEN NULL
    WHEN health = 'Healthy' THEN now() - (5 + pg_temp.ri('hb', n, 55)) * interval '1 s'
    ELSE now() - (60 + pg_temp.ri('hb', n, 7 * 86400)) * interval '1 s' END AS heartbeat OFFSET 0) d
"""

EDGE_HOSTS = """
INSERT INTO dashboard_edgehost (account_id, uid, name, created_at, modified_at, raw, first_seen_at, last_seen_at,
  removed_at, project_id, state, health, health_message, host_address, mac_address, arch, host_state, host_type, os,
  agent_version, cluster_uid, cluster_name, site, state_since, health_since, edge_api_state, edge_api_since,
  edge_api_checked_at, edge_api_error, edge_facts)
SELECT p.accts[1 + ai], uid, name, created, modified,
  jsonb_build_object(
    'metadata', jsonb_build_object('uid', uid, 'name', name, 'creationTimestamp', pg_temp.iso(created),
      'lastModifiedTimestamp', pg_temp.iso(modified), 'labels', jsonb_build_object('site', site, 'env', 'prod')),
    'spec', jsonb_build_object('projectMeta', jsonb_build_object('uid', p.puids[1 + k], 'name', p.pnames[1 + k]),
      'host', jsonb_build_object('hostAddress', address, 'macAddress', mac),
      'device', jsonb_build_object('archType', arch, 'hostState', host_state, 'hostType', 'appliance',
        'os', jsonb_build_object('family', 'ubuntu', 'version', '22.04'))),
    'status', jsonb_build_object('state', state,
      'health', jsonb_build_object('state', health, 'message', message, 'agentVersion', agent),
      'inUseClustersRef', CASE WHEN cluster_uid = '' THEN '[]'::jsonb
        ELSE jsonb_build_array(jsonb_build_object('uid', cluster_uid, 'name', cluster_name)) END)),
  first_seen, CASE WHEN removed IS NULL THEN now() - interval '2 min' ELSE removed - interval '5 min' END, removed,
  p.pids[1 + k], state, health, message, address, mac, arch, host_state, 'appliance', 'ubuntu 22.04', agent,
  cluster_uid, cluster_name, site,
  greatest(first_seen, now() - pg_temp.ri('ss', m, 60 * 86400) * interval '1 s'),
  greatest(first_seen, now() - pg_temp.ri('hs', m, 30 * 86400) * interval '1 s'),
  api, CASE WHEN api <> 'unknown' THEN now() - pg_temp.ri('as', m, 20 * 86400) * interval '1 s' END,
  CASE WHEN api <> 'unknown' THEN now() - pg_temp.ri('ac', m, 300) * interval '1 s' END,
  CASE api WHEN 'unreachable' THEN 'no answer within 5 s' WHEN 'auth_failed' THEN 'login refused (401)'
    WHEN 'tls_failed' THEN 'certificate verify failed: self-signed certificate' WHEN 'error' THEN 'HTTP 500'
    ELSE '' END,
  CASE WHEN api = 'reachable' THEN jsonb_build_object('os', 'Ubuntu 22.04.4 LTS', 'kernel', '5.15.0-105-generic',
    'uptimeSeconds', pg_temp.ri('up', m, 90 * 86400), 'disks', jsonb_build_array(jsonb_build_object('name', 'sda',
    'sizeGB', 256, 'usedPercent', pg_temp.ri('du', m, 100))), 'readAt', pg_temp.iso(now())) ELSE '{}'::jsonb END
FROM bench_p p, generate_series(0, %(hosts)s - 1) AS m,
LATERAL (SELECT m / %(hps)s AS s, pg_temp.uid('edgehost', m) AS uid, pg_temp.host_name(m) AS name,
  pg_temp.r('state', m) AS rs, pg_temp.r('health', m) AS rh, pg_temp.r('api', m) AS ra,
  now() - (10 + pg_temp.ri('created', m, 600)) * interval '1 day' AS created,
  now() - pg_temp.ri('modified', m, 30 * 86400) * interval '1 s' AS modified,
  '10.' || (m / 65536) %% 256 || '.' || (m / 256) %% 256 || '.' || m %% 256 AS address,
  '52:54:00:' || lpad(to_hex((m / 65536) %% 256), 2, '0') || ':' || lpad(to_hex((m / 256) %% 256), 2, '0') || ':'
    || lpad(to_hex(m %% 256), 2, '0') AS mac,
  CASE WHEN pg_temp.r('arch', m) < 800 THEN 'amd64' ELSE 'arm64' END AS arch,
  '4.4.' || pg_temp.ri('agent', m, 12) AS agent OFFSET 0) a,
LATERAL (SELECT (s %% %(projects)s)::int AS k, 'site-' || lpad(s::text, 5, '0') AS site,
  CASE WHEN rs < 600 THEN 'in-use' WHEN rs < 850 THEN 'ready' ELSE 'unpaired' END AS state,
  CASE WHEN rh < 860 THEN 'healthy' WHEN rh < 950 THEN 'unhealthy' ELSE '' END AS health,
  CASE WHEN ra < 800 THEN 'reachable' WHEN ra < 860 THEN 'unreachable' WHEN ra < 880 THEN 'auth_failed'
    WHEN ra < 890 THEN 'tls_failed' WHEN ra < 920 THEN 'no_access' WHEN ra < 930 THEN 'error' ELSE 'unknown' END AS api,
  greatest(created, now() - %(days)s * interval '1 day') AS first_seen,
  CASE WHEN pg_temp.r('removed', m) < 10 THEN now() - pg_temp.ri('rt', m, %(days)s * 24) * interval '1 hour' END
    AS removed OFFSET 0) b,
LATERAL (SELECT CASE WHEN k < %(projects)s / 2 THEN 0 ELSE 1 END AS ai,
  k + %(projects)s * pg_temp.ri('hc', s, %(clusters)s / %(projects)s) AS cn,
  CASE WHEN health = 'unhealthy' THEN 'heartbeat missed for ' || (1 + pg_temp.ri('hm', m, 90)) || ' minutes'
    ELSE '' END AS message,
  CASE WHEN state = 'in-use' THEN 'cluster' ELSE 'registration' END AS host_state OFFSET 0) c,
LATERAL (SELECT CASE WHEN state = 'in-use' THEN pg_temp.uid('cluster', cn) ELSE '' END AS cluster_uid,
  CASE WHEN state = 'in-use' THEN pg_temp.cluster_name(cn) ELSE '' END AS cluster_name OFFSET 0) d
"""

PROFILES = """INSERT INTO dashboard_clusterprofile (account_id, uid, name, created_at, modified_at, raw, first_seen_at,
  last_seen_at, removed_at, project_id, scope, profile_type, cloud_type, version, latest_version, versions, packs,
  kubernetes_version, in_use_clusters, cluster_count, is_published)
SELECT p.accts[1 + pn %% 2], pg_temp.profile_uid(pn, v), name, created + v * interval '20 days',
  created + v * interval '20 days',
  jsonb_build_object('metadata', jsonb_build_object('uid', pg_temp.profile_uid(pn, v), 'name', name,
      'annotations', jsonb_build_object('scope', scope, 'projectUid', coalesce(p.puids[1 + k], ''))),
    'specSummary', jsonb_build_object('version', %(latest)s, 'versions', versions,
      'published', jsonb_build_object('type', ptype, 'cloudType', cloud, 'packs', packs))),
  greatest(created, now() - %(days)s * interval '1 day'), now() - interval '3 min', NULL,
  CASE WHEN k >= 0 THEN p.pids[1 + k] END, scope, ptype, cloud, '1.' || v || '.0', %(latest)s,
  versions, packs, CASE WHEN ptype = 'cluster' THEN k8s ELSE '' END, '[]'::jsonb, 0, true
FROM bench_p p, generate_series(0, %(names)s - 1) AS pn, generate_series(0, %(last)s) AS v,
LATERAL (SELECT pg_temp.profile_name(pn) AS name, pg_temp.profile_k(pn, %(projects)s) AS k,
  now() - (100 + pg_temp.ri('created', pn, 500)) * interval '1 day' AS created,
  CASE WHEN (pn / 2) %% 4 = 0 THEN 'cluster' ELSE 'add-on' END AS ptype,
  (ARRAY['1.28.9', '1.29.6', '1.30.4', '1.31.2'])[1 + pg_temp.ri('k8s', pn, 4)] AS k8s,
  (SELECT jsonb_agg(jsonb_build_object('uid', pg_temp.profile_uid(pn, w), 'version', '1.' || w || '.0') ORDER BY w)
    FROM generate_series(0, %(last)s) w) AS versions OFFSET 0) a,
LATERAL (SELECT CASE WHEN k < 0 THEN 'tenant' ELSE 'project' END AS scope,
  CASE WHEN ptype = 'cluster' THEN 'edge-native' ELSE 'all' END AS cloud,
  CASE WHEN ptype = 'cluster' THEN jsonb_build_array(
      jsonb_build_object('name', 'ubuntu', 'layer', 'os', 'version', '22.04'),
      jsonb_build_object('name', 'edge-k3s', 'layer', 'k8s', 'version', k8s),
      jsonb_build_object('name', 'cni-calico', 'layer', 'cni', 'version', '3.27.' || v),
      jsonb_build_object('name', 'csi-longhorn', 'layer', 'csi', 'version', '1.6.' || v))
    ELSE jsonb_build_array(jsonb_build_object('name', name, 'layer', 'addon', 'version', '1.' || v || '.0'),
      jsonb_build_object('name', 'fluent-bit', 'layer', 'addon', 'version', '3.0.' || v)) END AS packs OFFSET 0) b
"""

PROFILE_USES = """INSERT INTO dashboard_profileuse (account_id, cluster_id, profile_uid, name, version,
  latest_version, behind)
SELECT c.account_id, c.id, u->>'uid', u->>'name', u->>'version', %(latest)s,
  u->>'version' <> %(latest)s
FROM dashboard_cluster c, jsonb_array_elements(c.profiles) u"""

IN_USE = """UPDATE dashboard_clusterprofile cp SET in_use_clusters = u.clusters, cluster_count = u.n
FROM (SELECT pu.account_id, pu.profile_uid, count(*) AS n,
  jsonb_agg(jsonb_build_object('uid', c.uid, 'name', c.name) ORDER BY c.name) AS clusters
  FROM dashboard_profileuse pu JOIN dashboard_cluster c ON c.id = pu.cluster_id AND c.removed_at IS NULL
  GROUP BY pu.account_id, pu.profile_uid) u
WHERE cp.account_id = u.account_id AND cp.uid = u.profile_uid"""

# LATERAL subqueries end in OFFSET 0: flattened, every use of a column (kind, st, ...) would copy
# its whole expression, and the copies nest.
# Kinds 30 % audit, 50 % event, 15 % transition, 5 % edge; subjects are clusters, edge hosts,
# profile versions (audits) and users (audits); rows are in time order as the sync appends them.
TIMELINE = """WITH reasons AS (SELECT
  ARRAY['NodeNotReady', 'NodeReady', 'BackOff', 'Scheduled', 'PackDeployed', 'HeartbeatMissed', 'UpgradeStarted',
    'CertificateExpiring', 'EdgeHostHeartbeatMissed', 'EdgeHostRegistered', 'EdgeHostRebooted', 'DiskPressure']
    AS r_reason,
  ARRAY['Warning', 'Normal', 'Warning', 'Normal', 'Normal', 'Warning', 'Normal', 'Warning', 'Warning', 'Normal',
    'Normal', 'Warning'] AS r_severity,
  ARRAY['node-controller', 'node-controller', 'kubelet', 'default-scheduler', 'palette-agent', 'palette-agent',
    'palette-agent', 'cert-manager', 'stylus', 'stylus', 'stylus', 'kubelet'] AS r_component,
  ARRAY['Machine', 'Machine', 'Pod', 'Pod', 'Pack', 'SpectroCluster', 'SpectroCluster', 'Certificate', 'EdgeHost',
    'EdgeHost', 'EdgeHost', 'Node'] AS r_involved,
  ARRAY['create', 'update', 'delete', 'publish', 'deploy', 'activity', 'action'] AS audit_action,
  ARRAY['created', 'updated', 'deleted', 'published', 'deployed', 'logged in', 'action triggered'] AS verb)
INSERT INTO dashboard_timelineentry (account_id, kind, source_id, occurred_at, project_id,
  subject_kind, subject_uid, subject_name, actor, action, severity, message, details)
SELECT p.accts[1 + ai], kind,
  CASE WHEN kind IN ('audit', 'event') THEN pg_temp.uid('entry', i)
    WHEN kind = 'edge' THEN 'edge:' || suid || ':edge_api_state:' || i
    ELSE CASE WHEN st = 'c' THEN 'clusters:' ELSE 'edgehosts:' END || suid || ':' || action || ':' || i END,
  at,
  CASE WHEN k >= 0 THEN p.pids[1 + k] END,
  CASE WHEN kind IN ('transition', 'edge') THEN CASE WHEN st = 'c' THEN 'cluster' ELSE 'edgehost' END
    ELSE CASE st WHEN 'c' THEN 'spectrocluster' WHEN 'h' THEN 'edgehost' WHEN 'p' THEN 'clusterprofile'
      ELSE 'user' END END,
  suid, sname, actor, action, severity, message, details
FROM bench_p p, reasons, generate_series(1, %(timeline)s) AS i,
LATERAL (SELECT pg_temp.r('kind', i) AS rk, pg_temp.r('subject', i) AS rs, pg_temp.r('what', i) AS rw,
  now() - %(days)s * interval '1 day' * (1 - i::float8 / %(timeline)s) + pg_temp.ri('jitter', i, 60) * interval '1 s'
    AS at OFFSET 0) a,
LATERAL (SELECT CASE WHEN rk < 300 THEN 'audit' WHEN rk < 800 THEN 'event' WHEN rk < 950 THEN 'transition'
  ELSE 'edge' END AS kind OFFSET 0) b,
LATERAL (SELECT CASE WHEN kind = 'edge' THEN 'h'
  WHEN kind = 'audit' THEN CASE WHEN rs < 550 THEN 'c' WHEN rs < 800 THEN 'p' WHEN rs < 950 THEN 'h' ELSE 'u' END
  ELSE CASE WHEN rs < 600 THEN 'c' ELSE 'h' END END AS st OFFSET 0) c,
LATERAL (SELECT CASE st WHEN 'c' THEN pg_temp.ri('sn', i, %(clusters)s) WHEN 'h' THEN pg_temp.ri('sn', i, %(hosts)s)
  WHEN 'p' THEN pg_temp.ri('sn', i, %(names)s * %(versions)s) ELSE pg_temp.ri('sn', i, %(users)s) END AS sn OFFSET 0) d,
LATERAL (SELECT
  CASE st WHEN 'c' THEN pg_temp.uid('cluster', sn) WHEN 'h' THEN pg_temp.uid('edgehost', sn)
    WHEN 'p' THEN pg_temp.profile_uid(sn / %(versions)s, sn %% %(versions)s) ELSE pg_temp.uid('user', sn) END AS suid,
  CASE st WHEN 'c' THEN pg_temp.cluster_name(sn) WHEN 'h' THEN pg_temp.host_name(sn)
    WHEN 'p' THEN pg_temp.profile_name(sn / %(versions)s) ELSE 'user' || lpad(sn::text, 4, '0') || '@example.com' END
    AS sname,
  CASE st WHEN 'c' THEN (sn %% %(projects)s)::int WHEN 'h' THEN ((sn / %(hps)s) %% %(projects)s)::int
    WHEN 'p' THEN pg_temp.profile_k(sn / %(versions)s, %(projects)s) ELSE -1 END AS k OFFSET 0) e,
LATERAL (SELECT CASE WHEN k >= 0 THEN (k >= %(projects)s / 2)::int
    WHEN st = 'p' THEN ((sn / %(versions)s) %% 2)::int ELSE (sn %% 2)::int END AS ai,
  (1 + pg_temp.ri('reason', i, 8) + CASE WHEN st = 'h' THEN 8 - pg_temp.ri('reason', i, 8)
    + pg_temp.ri('hr', i, 4) ELSE 0 END)::int AS ri,
  1 + pg_temp.ri('action', i, 7)::int AS ai7,
  CASE WHEN rw < 450 THEN 'health' WHEN rw < 800 THEN 'state' WHEN rw < 900 THEN 'profiles'
    WHEN rw < 960 THEN 'appeared' ELSE 'removed' END AS change,
  (ARRAY['reachable', 'unreachable', 'auth_failed', 'tls_failed', 'reachable', 'no_access'])
    [1 + pg_temp.ri('api', i, 6)] AS api_after OFFSET 0) f,
LATERAL (SELECT
  CASE kind WHEN 'audit' THEN CASE WHEN pg_temp.r('system', i) < 100 THEN 'hubble'
      ELSE 'user' || lpad(pg_temp.ri('actor', i, %(users)s)::text, 4, '0') || '@example.com' END
    WHEN 'event' THEN reasons.r_component[ri] ELSE 'palette-sync' END AS actor,
  CASE kind WHEN 'audit' THEN reasons.audit_action[ai7] WHEN 'event' THEN reasons.r_reason[ri]
    WHEN 'edge' THEN 'edge_api_state' ELSE change END AS action,
  CASE kind WHEN 'audit' THEN '' WHEN 'event' THEN reasons.r_severity[ri]
    WHEN 'edge' THEN CASE WHEN api_after IN ('reachable', 'no_access') THEN 'info' ELSE 'warning' END
    ELSE CASE WHEN change = 'removed' OR (change = 'health' AND rw %% 2 = 0) OR (change = 'state' AND rw %% 5 = 0)
      THEN 'warning' ELSE 'info' END END AS severity,
  CASE kind
    WHEN 'audit' THEN CASE st WHEN 'c' THEN 'Cluster' WHEN 'h' THEN 'EdgeHost' WHEN 'p' THEN 'ClusterProfile'
      ELSE 'User' END || ' ''' || sname || ''' ' || reasons.verb[ai7]
    WHEN 'event' THEN reasons.r_reason[ri] || ': ' || sname || ' ' || lower(reasons.r_involved[ri]) || ' '
      || CASE WHEN reasons.r_severity[ri] = 'Warning' THEN 'needs attention' ELSE 'is fine' END
    WHEN 'edge' THEN 'edge_api_state reachable → ' || api_after
    ELSE CASE change WHEN 'health' THEN CASE WHEN rw %% 2 = 0 THEN 'health Healthy → UnHealthy'
        ELSE 'health UnHealthy → Healthy' END
      WHEN 'state' THEN CASE WHEN rw %% 5 = 0 THEN 'state Running → Error' ELSE 'state Provisioning → Running' END
      WHEN 'profiles' THEN 'profiles pos-apps 1.2.0 → 1.3.0' ELSE change END END AS message,
  CASE kind
    WHEN 'audit' THEN jsonb_build_object('actorType', CASE WHEN pg_temp.r('system', i) < 100 THEN 'system'
      ELSE 'user' END, 'label', CASE st WHEN 'c' THEN 'Cluster' WHEN 'h' THEN 'EdgeHost' WHEN 'p' THEN 'ClusterProfile'
      ELSE 'User' END)
    WHEN 'event' THEN jsonb_build_object('involvedObject', jsonb_build_object('kind', reasons.r_involved[ri],
      'name', sname || '-worker-' || (i %% 4096), 'uid', pg_temp.uid('involved', i)), 'host', sname || '-cp')
    WHEN 'edge' THEN jsonb_build_object('field', 'edge_api_state', 'before', 'reachable', 'after', api_after,
      'run', i / 1000)
    ELSE jsonb_build_object('field', change, 'before', 'Healthy', 'after', 'UnHealthy', 'run', i / 1000) END
    AS details OFFSET 0) g
"""

SCOPES = """CREATE TEMP TABLE bench_scope AS
SELECT a.id AS account_id, r.resource, NULL::bigint AS project_id
FROM dashboard_paletteaccount a, unnest(ARRAY['projects', 'profiles', 'audits']) AS r(resource)
UNION ALL
SELECT p.account_id, r.resource, p.id
FROM dashboard_project p, unnest(ARRAY['clusters', 'profiles', 'edgehosts', 'events', 'edge_api']) AS r(resource)"""

# One run per scope every sync interval; the stale scope stopped 3 hours ago; the newest run of the
# failing and partial scopes failed or ended early; the running scope has a run still going.
SYNC_RUNS = """INSERT INTO dashboard_syncrun (account_id, resource, project_id, status, started_at, finished_at,
  items, added, removed, transitions, detail_reads, requests, throttled, errors)
SELECT s.account_id, s.resource, s.project_id, status, started, CASE WHEN status <> 'running' THEN
    started + (2 + pg_temp.ri('d', t * 7919 + s.id, 40)) * interval '1 s' END,
  items, CASE WHEN t %% 50 = 0 THEN 3 ELSE 0 END, 0, CASE WHEN t %% 10 = 0 THEN 2 ELSE 0 END, 0,
  jsonb_build_object(CASE WHEN s.resource = 'audits' THEN '/v1/audits' ELSE '/v1/dashboard' END, 1 + items / 50),
  0, CASE WHEN status IN ('failed', 'partial') THEN jsonb_build_array(why) ELSE '[]'::jsonb END
FROM (SELECT *, row_number() OVER (ORDER BY account_id, resource, project_id) AS id FROM bench_scope) s,
generate_series(0, %(runs)s - 1) AS t,
LATERAL (SELECT now() - (t * %(interval)s + pg_temp.ri('o', s.id, %(interval)s)) * interval '1 s' AS started,
  CASE s.resource WHEN 'clusters' THEN %(clusters)s / %(projects)s WHEN 'edgehosts' THEN %(hosts)s / %(projects)s
    WHEN 'edge_api' THEN %(hosts)s / %(projects)s WHEN 'profiles' THEN 40 WHEN 'projects' THEN %(projects)s / 2
    ELSE 20 END AS items,
  CASE WHEN t = 0 AND s.id = 7 THEN 'failed' WHEN t = 0 AND s.id = 13 THEN 'partial'
    WHEN t = 0 AND s.id = 3 THEN 'running' WHEN t = 0 AND s.id = 2 THEN 'failed' ELSE 'ok' END AS status,
  CASE WHEN s.id = 2 THEN 'PaletteRateLimited: Retry-After 120 s is over the 60 s cap'
    WHEN s.id = 7 THEN 'PaletteServerError: 502 Bad Gateway' ELSE 'PaletteTimeout: no answer within 30 s' END AS why
  OFFSET 0) x
WHERE NOT (s.id = 21 AND t * %(interval)s < 3 * 3600)"""

SYNC_SCOPES = """WITH ok AS (SELECT account_id, resource, coalesce(project_id, 0) AS project, max(started_at) AS at
  FROM dashboard_syncrun WHERE status = 'ok' GROUP BY 1, 2, 3),
latest AS (SELECT DISTINCT ON (account_id, resource, project_id) * FROM dashboard_syncrun WHERE status <> 'running'
  ORDER BY account_id, resource, project_id, started_at DESC)
INSERT INTO dashboard_syncscope (account_id, resource, project_id, last_run_id, last_status, last_finished_at,
  last_error, ok_started_at, running_since, progress_items, progress_total)
SELECT r.account_id, r.resource, r.project_id, r.id, r.status, r.finished_at,
  CASE WHEN r.status <> 'ok' THEN r.errors->>0 ELSE '' END, ok.at, NULL, r.items, NULL
FROM latest r LEFT JOIN ok ON ok.account_id = r.account_id AND ok.resource = r.resource
  AND ok.project = coalesce(r.project_id, 0)"""

RUNNING = """UPDATE dashboard_syncscope sc SET running_since = r.started_at, progress_items = r.items / 2,
  progress_total = r.items FROM dashboard_syncrun r
WHERE r.status = 'running' AND sc.account_id = r.account_id AND sc.resource = r.resource
  AND sc.project_id IS NOT DISTINCT FROM r.project_id"""

HEALTH_SAMPLES = """INSERT INTO dashboard_healthsample (hour, clusters_unhealthy, clusters_total, hosts_unhealthy,
  hosts_total)
SELECT date_trunc('hour', now()) - h * interval '1 hour', %(clusters)s * (80 + pg_temp.ri('cu', h, 40)) / 1000,
  %(clusters)s * 97 / 100, %(hosts)s * (70 + pg_temp.ri('hu', h, 40)) / 1000, %(hosts)s * 99 / 100
FROM generate_series(1, 24 * 14) AS h"""

BIG_TABLES = ("dashboard_cluster", "dashboard_edgehost", "dashboard_clusterprofile", "dashboard_profileuse")


def fill(args: argparse.Namespace) -> dict:
    """Fill the bench database; returns the seconds each step took."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.utils import timezone

    from dashboard.models import EdgeCredential, PaletteAccount, Project
    from palette_sync.sync import rollups

    timings: dict[str, float] = {}
    sizes = {
        "clusters": args.clusters,
        "hosts": args.hosts,
        "names": max(args.profiles // VERSIONS, 8),
        "timeline": args.timeline,
        "projects": args.projects,
        "interval": settings.PALETTE_SYNC_INTERVAL,
        "days": DAYS,
        "versions": VERSIONS,
        "last": VERSIONS - 1,
        "latest": f"1.{VERSIONS - 1}.0",
        "hps": HOSTS_PER_SITE,
        "users": USERS,
        "runs": max(1, int(args.run_hours * 3600 / settings.PALETTE_SYNC_INTERVAL)),
    }
    # A bulk load: no fsync wait per commit, room to sort for index builds, foreign keys not re-checked
    # row by row (every value is drawn from rows that exist).
    sql("SET synchronous_commit = off")
    sql("SET maintenance_work_mem = '512MB'")
    sql("SET work_mem = '64MB'")
    sql("SET session_replication_role = replica")
    sql(FUNCTIONS.replace("%(hps)s", str(HOSTS_PER_SITE)).replace("%%", "%"))
    now = timezone.now()
    accounts = []
    for i, name in enumerate(("acme-prod", "globex-prod")):
        account = PaletteAccount(name=name, api_url=f"https://palette-{i}.example.com", tenant_uid=f"tenant{i}")
        account.set_secret("bench-only-not-a-key")
        account.save()
        accounts.append(account)
        credential = EdgeCredential(account=account, selector="*", insecure=True)
        credential.set_password("bench-only")
        credential.save()
    Project.objects.bulk_create(
        Project(
            account=accounts[0 if k < args.projects // 2 else 1],
            uid=f"{k:08x}{'0' * 8}{k:08x}",
            name=f"{('retail', 'logistics', 'factory', 'corp')[k % 4]}-{('eu', 'us', 'apac')[k % 3]}-{k:03d}",
            raw={"metadata": {"uid": f"{k:08x}{'0' * 8}{k:08x}", "name": f"project-{k}"}},
            first_seen_at=now - timedelta(days=DAYS),
            last_seen_at=now,
        )
        for k in range(args.projects)
    )
    sql(PROJECTS)
    with step("clusters", timings), without_indexes("dashboard_cluster"):
        sql(CLUSTERS, sizes)
    with step("edge hosts", timings), without_indexes("dashboard_edgehost"):
        sql(EDGE_HOSTS, sizes)
    with step("profile versions", timings), without_indexes("dashboard_clusterprofile"):
        sql(PROFILES, sizes)
    with step("profile uses", timings), without_indexes("dashboard_profileuse"):
        sql(PROFILE_USES, sizes)
    with step("profiles' clusters", timings):
        sql(IN_USE)
    with step("timeline", timings), without_indexes("dashboard_timelineentry"):
        sql(TIMELINE, sizes)
    with step("sync runs and scopes", timings), without_indexes("dashboard_syncrun"):
        sql(SCOPES)
        sql(SYNC_RUNS, sizes)
        sql(SYNC_SCOPES)
        sql(RUNNING)
        sql(HEALTH_SAMPLES, sizes)
    sql("SET session_replication_role = DEFAULT")
    with step("vacuum analyze", timings):
        sql("VACUUM ANALYZE")
    with step("counts (rollups.refresh_all_counts)", timings):
        for account in accounts:
            rollups.refresh_all_counts(account)
        rollups.record_sample(timezone.now())
        sql("ANALYZE")  # the rollups' tables (FleetCount, SiteSummary, ...) are new since the VACUUM ANALYZE
    User.objects.create_user("bench-member")  # no password: the bench signs in with force_login
    User.objects.create_superuser("bench-admin", password=None)
    return timings


def row_counts() -> dict:
    from django.apps import apps

    models = ("Cluster", "EdgeHost", "ClusterProfile", "ProfileUse", "TimelineEntry", "Project", "SyncRun")
    counts = {name: apps.get_model("dashboard", name).objects.count() for name in models}
    counts |= {name: apps.get_model("dashboard", name).objects.count() for name in ("SyncScope", "FleetCount")}
    counts["HealthSample"] = apps.get_model("dashboard", "HealthSample").objects.count()
    counts["database_bytes"] = scalar("SELECT pg_database_size(current_database())")
    return counts


# --- the pages -------------------------------------------------------------------------------------


def samples() -> dict:
    """Rows the pages are asked about: typical ones, read from the filled database."""
    from dashboard.models import Cluster, ClusterProfile, EdgeHost, TimelineEntry

    cluster = Cluster.objects.filter(removed_at__isnull=True, health="UnHealthy").order_by("id").first()
    host = EdgeHost.objects.filter(removed_at__isnull=True, state="in-use", health="unhealthy").order_by("id").first()
    profile = ClusterProfile.objects.order_by("-cluster_count", "id").first()
    actor = TimelineEntry.objects.filter(kind="audit").exclude(actor="hubble").order_by("-occurred_at").first()
    return {
        "cluster": cluster.uid,
        "host": host.uid,
        "site": host.site,
        "profile": profile.uid,
        "actor": actor.actor,
    }


def page_list(s: dict) -> list[tuple[str, str, str, dict, bool]]:
    """(name, URL name, path argument, query, also as htmx partial) of every page to time."""
    return [
        ("overview", "overview", "", {}, True),
        ("clusters", "cluster_list", "", {}, True),
        ("clusters health=UnHealthy", "cluster_list", "", {"health": "UnHealthy"}, True),
        ("clusters sort=-heartbeat_at", "cluster_list", "", {"sort": "-heartbeat_at"}, True),
        ("clusters sort=-state", "cluster_list", "", {"sort": "-state"}, True),
        ("clusters cloud_type=aws&state=Running", "cluster_list", "", {"cloud_type": "aws", "state": "Running"}, True),
        ("clusters behind=on", "cluster_list", "", {"behind": "on"}, True),
        ("clusters q=store-12", "cluster_list", "", {"q": "store-12"}, True),
        ("clusters page=500", "cluster_list", "", {"page": "500"}, True),
        ("cluster detail", "cluster_detail", s["cluster"], {}, False),
        ("profiles", "profile_list", "", {}, True),
        ("profile detail", "profile_detail", s["profile"], {}, False),
        ("edge hosts", "edgehost_list", "", {}, True),
        ("edge hosts edge_api_state=unreachable", "edgehost_list", "", {"edge_api_state": "unreachable"}, True),
        ("edge hosts site", "edgehost_list", "", {"site": s["site"]}, True),
        ("edge hosts sort=os", "edgehost_list", "", {"sort": "os"}, True),
        ("sites", "site_list", "", {}, True),
        ("edge host detail", "edgehost_detail", s["host"], {}, False),
        ("timeline", "timeline", "", {}, True),
        ("timeline kind=audit", "timeline", "", {"kind": "audit"}, True),
        ("timeline severity=warning", "timeline", "", {"severity": "warning"}, True),
        ("timeline subject", "timeline", "", {"subject": s["cluster"]}, True),
        ("timeline actor", "timeline", "", {"actor": s["actor"]}, True),
        ("sync", "sync_status", "", {}, True),
    ]


ADMIN = [
    ("cluster", {}),
    ("cluster", {"health__exact": "UnHealthy"}),
    ("cluster", {"q": "store-12"}),
    ("cluster", {"cloud_type__exact": "aws", "state__exact": "Running"}),
    ("edgehost", {}),
    ("edgehost", {"edge_api_state__exact": "unreachable"}),
    ("timelineentry", {}),
    ("timelineentry", {"kind__exact": "audit"}),
    ("timelineentry", {"severity__exact": "warning"}),
    ("timelineentry", {"q": "store-00042"}),
]


def measure(args: argparse.Namespace, get: Callable[[], object]) -> dict:
    """Warm-ups, then timed requests; p50/p95 wall time, queries, time in queries, slowest statements.

    A statement's time is its median over the timed requests (literals blanked, so one statement
    with another timestamp or cursor is the same statement). A page that raises is reported, not fatal.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    try:
        for _ in range(args.warmup):
            get()
    except Exception as error:  # a page being rewritten right now: say so and go on
        return {"error": f"{error.__class__.__name__}: {str(error)[:300]}", "over_goal": True}
    times, db_times, queries, statements = [], [], 0, defaultdict(list)
    spent_from = time.monotonic()
    status, size, extra = None, 0, {}
    while len(times) < args.repeat and (len(times) < 5 or time.monotonic() - spent_from < args.budget):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            status, size, extra = get()
            times.append((time.perf_counter() - started) * 1000)
        db_times.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
        queries = max(queries, len(captured.captured_queries))
        for q in captured.captured_queries:
            statements[LITERAL.sub("?", q["sql"])].append((float(q["time"]) * 1000, q["sql"]))
    times.sort()
    slowest = sorted(statements.values(), key=lambda runs: -statistics.median(ms for ms, _ in runs))[:3]
    figures = {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
        "queries": queries,
        "db_p50_ms": round(statistics.median(db_times), 1),
        "n": len(times),
        "status": status,
        "bytes": size,
        **extra,
        "slowest_sql": [
            {
                "ms": round(statistics.median(ms for ms, _ in runs), 1),
                "per_request": len(runs) / len(times),
                "sql": runs[-1][1],
            }
            for runs in slowest
        ],
    }
    if queries >= connection.queries_limit:
        figures["queries_capped"] = True  # Django keeps the last queries_limit (9,000): there were more
    figures["over_goal"] = figures["p95_ms"] > GOAL_MS or queries > GOAL_QUERIES
    return figures


# Quoted literals and numbers: blanked to tell statements apart from their parameters.
LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


def getter(client: object, path: str, htmx: bool) -> Callable[[], tuple[int, int, dict]]:
    headers = {"HX-Request": "true"} if htmx else {}

    def get() -> tuple[int, int, dict]:
        response = client.get(path, headers=headers)
        if response.streaming:
            started = time.perf_counter()
            chunks = iter(response.streaming_content)
            first = next(chunks, b"")
            second = next(chunks, b"")  # the header line comes before any query; this is the first rows
            ttfb = (time.perf_counter() - started) * 1000
            size = len(first) + len(second) + sum(len(c) for c in chunks)
            response.close()
            return response.status_code, size, {"first_rows_ms_after_response": round(ttfb, 1)}
        return response.status_code, len(response.content), {}

    return get


def older_link(page: str) -> str | None:
    """The "older" link of a timeline page (its href or hx-get), if any."""
    for match in re.finditer(r"<a\b[^>]*>.*?</a>", page, re.S | re.I):
        tag = match.group(0)
        text = re.sub(r"<[^>]+>", "", tag).strip().lower()
        if "older" in text or re.search(r'rel="?next', tag):
            url = re.search(r'(?:hx-get|href)="([^"]+)"', tag)
            if url:
                return html.unescape(url.group(1))
    return None


def time_pages(args: argparse.Namespace) -> tuple[dict, dict, dict, list]:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import resolve, reverse

    s = samples()
    member, admin = Client(), Client()
    member.force_login(User.objects.get(username="bench-member"))
    admin.force_login(User.objects.get(username="bench-admin"))
    pages: dict[str, dict] = {}
    exports: dict[str, dict] = {}  # every page of a view as CSV: not a page, so outside the pages' goals
    skipped: list[str] = []
    for name, url_name, arg, query, partial in page_list(s):
        path = reverse(f"dashboard:{url_name}", args=[arg] if arg else [])
        if resolve(path).func.__module__.endswith(".placeholder"):  # a page not built yet
            if url_name not in skipped:
                skipped.append(url_name)
            continue
        url = path + (f"?{urlencode(query)}" if query else "")
        for htmx in (False, True) if partial else (False,):
            label = name + (" [htmx]" if htmx else "")
            if args.only and args.only not in label:
                continue
            say(f"  {label}: {url}")
            pages[label] = {"url": url, **measure(args, getter(member, url, htmx))}
        if url_name == "timeline" and not query and not args.only:
            pages |= deep_timeline(args, member, url)
        if url_name == "cluster_list" and query.get("state") and not args.only:
            export = url + "&export=csv"
            say(f"  clusters CSV: {export}")
            exports["clusters CSV cloud_type=aws&state=Running"] = {
                "url": export,
                **measure(args, getter(member, export, False)),
            }
    admin_pages = {}
    for model, query in ADMIN:
        url = f"/admin/dashboard/{model}/" + (f"?{urlencode(query)}" if query else "")
        if args.only and args.only not in f"admin {model}":
            continue
        say(f"  admin: {url}")
        admin_pages[f"{model} {urlencode(query)}".strip()] = {"url": url, **measure(args, getter(admin, url, False))}
    return pages, exports, admin_pages, skipped


def deep_timeline(args: argparse.Namespace, client: object, url: str) -> dict:
    """Follow the timeline's "older" link 20 times; time the 20th page (full and partial)."""
    for _ in range(20):
        try:
            older = older_link(client.get(url).content.decode())
        except Exception as error:  # the page is being rewritten right now
            return {"timeline 20 pages older": {"url": url, "error": repr(error)[:300], "over_goal": True}}
        if older is None:
            say("  timeline: no 'older' link found; the deep keyset page is not timed")
            return {}
        url = older if older.startswith("/") else "/timeline/" + older
    say(f"  timeline 20 pages older: {url}")
    return {
        "timeline 20 pages older": {"url": url, **measure(args, getter(client, url, False))},
        "timeline 20 pages older [htmx]": {"url": url, **measure(args, getter(client, url, True))},
    }


def explain(pages: dict) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) the slowest statements of every page over the goals, into its figures."""
    from django.db import connection

    for figures in pages.values():
        if not figures.get("over_goal"):
            continue
        figures["plans"] = []
        for q in figures.get("slowest_sql", [])[:2]:
            if not q["sql"].lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                figures["plans"].append("\n".join(row[0] for row in cursor.fetchall()))


# --- main ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["PALETTE_API_KEY"] = ""
    if not args.skip_fill:
        say(f"creating {args.database_url} ...")
        recreate_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    timings = {}
    started = time.monotonic()
    call_command("migrate", verbosity=0)  # with --skip-fill: the migrations added since the fill
    if not args.skip_fill:
        timings = fill(args)
    fill_seconds = round(time.monotonic() - started, 1)
    counts = row_counts()
    say(f"rows: {counts}")
    say("timing pages ...")
    import config.wsgi  # noqa: F401 (as a web process starts: its modules frozen out of the collector's sight)

    load_before = os.getloadavg()
    pages, exports, admin_pages, skipped = time_pages(args)
    load = [round(x, 1) for x in (*load_before, *os.getloadavg())]
    if args.explain:
        explain(pages)
        explain(admin_pages)
    return {
        "pages": pages,
        "exports": exports,
        "admin": admin_pages,
        "setup": {
            "rows": counts,
            "fill_seconds": fill_seconds if timings else None,
            "fill_steps": timings,
            "load_average": {"before": load[:3], "after": load[3:]},  # 1, 5, 15 min: the machine's other work
            "cpus": os.cpu_count(),
        },
        "skipped": skipped,
        "goals": {"p95_ms": GOAL_MS, "queries": GOAL_QUERIES},
        "over_goal": [name for name, f in pages.items() if f["over_goal"]],
    }


def summary(figures: dict) -> str:
    lines = [f"{'page':48} {'p50 ms':>8} {'p95 ms':>8} {'db ms':>7} {'queries':>7}  status"]
    for section in ("pages", "exports", "admin"):
        lines.append(f"-- {section}")
        for name, f in figures[section].items():
            if "error" in f:
                lines.append(f"{name[:48]:48} {f['error'][:70]}")
                continue
            flag = "  OVER GOAL" if section == "pages" and f["over_goal"] else ""
            lines.append(
                f"{name[:48]:48} {f['p50_ms']:>8} {f['p95_ms']:>8} {f['db_p50_ms']:>7} {f['queries']:>7}  "
                f"{f['status']}{flag}"
            )
    lines.append(f"skipped (still placeholders): {', '.join(figures['skipped']) or 'none'}")
    setup = figures["setup"]
    lines.append(f"rows: {setup['rows']}; fill {setup['fill_seconds']} s")
    return "\n".join(lines)


if __name__ == "__main__":
    arguments = parse_args()
    result = main()
    if not arguments.json:
        say(summary(result))
    print(json.dumps(result, indent=2))
