"""Run the simulator: `python -m palette_sim --port 8765 --seed 1 --api-key KEY`."""

import argparse
import logging
import signal
import sys

from werkzeug.serving import make_server

from palette_sim.app import SimApp
from palette_sim.fleet import Fleet


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m palette_sim",
        description="Serve a simulated Palette REST API over a generated, deterministic fleet.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    parser.add_argument("--seed", type=int, default=1, help="fleet seed: same seed, same fleet (default 1)")
    parser.add_argument("--api-key", required=True, help="the API key clients must send in the ApiKey header")
    parser.add_argument("--projects", type=int, default=3, help="number of projects (default 3)")
    parser.add_argument("--clusters", type=int, default=200, help="number of clusters (default 200)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    fleet = Fleet.generate(seed=args.seed, projects=args.projects, clusters=args.clusters)
    server = make_server(args.host, args.port, SimApp(fleet, args.api_key), threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        f"palette_sim: serving {len(fleet.projects)} projects, {len(fleet.clusters)} clusters "
        f"on http://{args.host}:{server.port}",
        flush=True,
    )
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
