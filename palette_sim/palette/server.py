"""The threaded HTTP server for the Palette API."""

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from palette_sim.palette.app import SimApp


class PaletteHandler(WSGIRequestHandler):
    # Werkzeug sends headers and body in separate writes; with Nagle on, a keep-alive client's
    # delayed ACK then stalls every response by ~40 ms, which real Palette would not add.
    disable_nagle_algorithm = True


def make_palette_server(host: str, port: int, app: SimApp) -> BaseWSGIServer:
    return make_server(host, port, app, threaded=True, request_handler=PaletteHandler)
