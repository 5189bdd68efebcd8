"""Run the simulator: `python -m palette_sim --port 8765 --seed 1 --api-key KEY` (see --help).

Secrets can come from the environment instead of the command line, where any local user can read
them (`ps`, /proc/<pid>/cmdline): PALETTE_SIM_API_KEY, PALETTE_SIM_PASSWORD, PALETTE_SIM_CONTROL_KEY,
PALETTE_SIM_EDGE_PASSWORD.
"""

import argparse
import logging
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime

from palette_sim.fleet.fleet import parse_time
from palette_sim.fleet.generate import freeze, generate_fleet
from palette_sim.harness.faults import FaultConfig
from palette_sim.palette.app import SimApp
from palette_sim.palette.server import make_palette_server

EPILOG = """\
secrets from the environment (kept off the command line, where `ps` shows them):
  PALETTE_SIM_API_KEY, PALETTE_SIM_PASSWORD, PALETTE_SIM_CONTROL_KEY, PALETTE_SIM_EDGE_PASSWORD

control endpoint (only with a control key; needs header X-Sim-Control-Key: <control key>):
  GET  /__sim/stats            requests and 429s per rate-limit family, statuses, endpoints
  POST /__sim/stats/reset      zero the counters
  GET|PUT|DELETE /__sim/faults read, partially update or clear the faults (JSON keys = fault flags,
                               e.g. {"error_rate": 0.1, "storm_seconds": 5, "paths": ["/v1/dashboard"]})
  POST /__sim/tokens/revoke    revoke every session token issued so far
  GET|POST /__sim/clock        {"jump": seconds} moves the served clock; {"advance": seconds} lets
                               simulated time pass, so churn happens now
  GET|PUT /__sim/churn         {"rate": changes per second}
  GET|PUT /__sim/ratelimit     {"scale": F}; POST /__sim/ratelimit/reset refills every bucket
  GET  /__sim/fleet            seed, tenant, projects, counts, login, the Edge Host API address
  GET|POST /__sim/edge         the Edge Host API address, slow and down hosts; {"address": "127.1.0.5",
                               "reach": "ok"|"slow"|"down"} changes one host
"""


def rate(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError("a fraction between 0 and 1")
    return number


def anchor(value: str) -> float:
    if value == "now":
        return float(int(time.time()))
    try:
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError("an RFC 3339 date-time or 'now'") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m palette_sim",
        description="Serve a simulated Palette REST API (and each edge host's Edge Host API) over a generated, "
        "deterministic fleet. Same seed and anchor, same fleet.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("server")
    g.add_argument("--host", default="127.0.0.1", help="address the Palette API listens on (default 127.0.0.1)")
    g.add_argument("--port", metavar="PORT", type=int, default=8765, help="port of the Palette API (default 8765)")
    g.add_argument(
        "--api-key",
        default=os.getenv("PALETTE_SIM_API_KEY"),
        help="the API key clients must send in the ApiKey header (default: $PALETTE_SIM_API_KEY; required)",
    )
    g.add_argument(
        "--control-key",
        default=os.getenv("PALETTE_SIM_CONTROL_KEY"),
        help="key for the /__sim/ control endpoint (default: $PALETTE_SIM_CONTROL_KEY; neither: no control endpoint)",
    )
    g.add_argument("--email", help="emailId accepted by POST /v1/auth/authenticate (default: the first user's)")
    g.add_argument(
        "--password",
        default=os.getenv("PALETTE_SIM_PASSWORD"),
        help="password accepted by POST /v1/auth/authenticate (default: $PALETTE_SIM_PASSWORD, else the API key)",
    )
    g.add_argument(
        "--token-ttl",
        metavar="SECONDS",
        type=float,
        default=900,
        help="session token lifetime in seconds (default 900)",
    )
    g.add_argument(
        "--rate-scale", type=float, default=1.0, help="multiply every published rate limit (default 1; 0 = off)"
    )
    g.add_argument(
        "--tenant-sees-all",
        action="store_true",
        help="tenant scope (no ProjectUid) lists every project's objects; default: only tenant-owned ones",
    )
    g.add_argument("--quiet", action="store_true", help="do not log each request")
    g = p.add_argument_group("fleet")
    g.add_argument("--seed", type=int, default=1, help="fleet seed (default 1)")
    g.add_argument("--anchor", type=anchor, default="now", help="the fleet's 'now', RFC 3339 or 'now' (default now)")
    g.add_argument("--projects", type=int, default=3, help="number of projects (default 3)")
    g.add_argument("--clusters", type=int, default=200, help="number of clusters (default 200)")
    g.add_argument(
        "--profiles", type=int, default=24, help="number of cluster profile names, 2-5 versions each (default 24)"
    )
    g.add_argument("--edge-hosts", type=int, default=300, help="number of edge hosts (default 300)")
    g.add_argument(
        "--audits", type=int, default=5000, help="number of audit entries over the last 90 days (default 5000)"
    )
    g.add_argument("--events-per-cluster", type=int, default=4, help="component events per cluster, about (default 4)")
    g.add_argument(
        "--churn", type=float, default=0.0, help="changes per second to the fleet (default 0: a still fleet)"
    )
    g = p.add_argument_group("faults (also settable at run time: PUT /__sim/faults)")
    g.add_argument("--latency-ms", metavar="MS", type=float, default=0.0, help="added to every /v1 response")
    g.add_argument("--latency-jitter-ms", metavar="MS", type=float, default=0.0, help="plus a uniform random 0..N ms")
    g.add_argument("--error-rate", type=rate, default=0.0, metavar="FRACTION", help="fraction answered 500/502/503/504")
    g.add_argument(
        "--throttle-rate",
        type=rate,
        default=0.0,
        metavar="FRACTION",
        help="fraction answered 429 regardless of the buckets",
    )
    g.add_argument(
        "--storm-seconds",
        metavar="SECONDS",
        type=float,
        default=0.0,
        help="answer every /v1 request 429 for N s from start",
    )
    g.add_argument(
        "--hang-rate",
        type=rate,
        default=0.0,
        metavar="FRACTION",
        help="fraction that stall --hang-seconds before answering",
    )
    g.add_argument("--hang-seconds", metavar="SECONDS", type=float, default=60.0, help="length of a hang (default 60)")
    g.add_argument(
        "--malformed-rate", type=rate, default=0.0, metavar="FRACTION", help="fraction of 200s whose body is not JSON"
    )
    g.add_argument(
        "--truncated-rate",
        type=rate,
        default=0.0,
        metavar="FRACTION",
        help="fraction of 200s whose body is cut in half",
    )
    g.add_argument(
        "--repeat-rate", type=rate, default=0.0, help="fraction of list pages that make the next page repeat items"
    )
    g.add_argument(
        "--drop-rate", type=rate, default=0.0, help="fraction of list pages that make the next page skip items"
    )
    g.add_argument(
        "--loop-rate", type=rate, default=0.0, help="fraction of list pages that hand back the same continue token"
    )
    g.add_argument(
        "--fault-paths", nargs="*", default=[], help="only paths with these prefixes get faults (default all)"
    )
    g.add_argument(
        "--clock-jump",
        metavar="SECONDS",
        type=float,
        default=0.0,
        help="start with the served clock moved by N seconds",
    )
    g = p.add_argument_group("edge host API")
    g.add_argument(
        "--edge-port",
        type=int,
        default=5080,
        help="port every edge host answers on at its 127.x.y.z (default 5080; 0 = off)",
    )
    g.add_argument("--edge-http", action="store_true", help="plain HTTP instead of HTTPS")
    g.add_argument(
        "--edge-self-signed",
        action="store_true",
        help="give every host a self-signed certificate instead of one signed by the simulator's CA",
    )
    g.add_argument(
        "--edge-bind",
        choices=("auto", "device", "per-address"),
        default="auto",
        help="how to listen on many loopback addresses: one socket bound to the lo device, or one per host "
        "address (auto: device, else per-address)",
    )
    g.add_argument(
        "--edge-ca-out",
        metavar="FILE",
        help="write the CA certificate that signs the edge hosts' certificates here (PEM)",
    )
    g.add_argument(
        "--edge-slow-seconds", metavar="SECONDS", type=float, default=2.0, help="added to every answer of a slow host"
    )
    g.add_argument("--edge-user", default="kairos", help="OS user of every edge host (default kairos)")
    g.add_argument(
        "--edge-password",
        default=os.getenv("PALETTE_SIM_EDGE_PASSWORD"),
        help="OS password of every edge host (default: $PALETTE_SIM_EDGE_PASSWORD, else the API key)",
    )
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("an API key is required: --api-key or $PALETTE_SIM_API_KEY")
    return args


def fault_config(args: argparse.Namespace) -> FaultConfig:
    names = [n for n in FaultConfig.names() if n != "paths"]
    return FaultConfig(**{n: getattr(args, n) for n in names}, paths=tuple(args.fault_paths))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    started = time.monotonic()
    fleet = generate_fleet(
        seed=args.seed,
        projects=args.projects,
        clusters=args.clusters,
        profiles=args.profiles,
        edge_hosts=args.edge_hosts,
        audits=args.audits,
        events_per_cluster=args.events_per_cluster,
        anchor=args.anchor,
    )
    freeze()
    app = SimApp(
        fleet,
        args.api_key,
        control_key=args.control_key or None,
        token_ttl=args.token_ttl,
        rate_scale=args.rate_scale,
        tenant_sees_all=args.tenant_sees_all,
        email=args.email,
        password=args.password,
        churn=args.churn,
        faults=fault_config(args),
    )
    app.clock.jumped = args.clock_jump
    servers = [make_palette_server(args.host, args.port, app)]
    if args.edge_port:
        from palette_sim.edge.server import start_edge

        edge = start_edge(app, args)
        if edge is not None:
            servers.append(edge.server)
            print(edge.message, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    anchor_text = datetime.fromtimestamp(args.anchor, UTC).isoformat()
    print(
        f"palette_sim: {len(fleet.projects)} projects, {len(fleet.clusters)} clusters, {len(fleet.hosts)} edge hosts, "
        f"{len(fleet.audits)} audits (seed {args.seed}, anchor {anchor_text}, generated in "
        f"{time.monotonic() - started:.1f}s) on http://{args.host}:{servers[0].port}; "
        # The key itself is never printed: logs are read by more people than the operator who set it.
        f"control endpoint {'on' if args.control_key else 'off'}",
        flush=True,
    )
    for extra in servers[1:]:
        threading.Thread(target=extra.serve_forever, daemon=True).start()
    try:
        servers[0].serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        for server in servers:
            server.server_close()


if __name__ == "__main__":
    main()
