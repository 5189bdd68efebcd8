"""The control endpoint under /__sim/, guarded by its own key (issue 3, item 7). Filled in below."""

import json

from werkzeug.wrappers import Request, Response


def dispatch(app: object, request: Request) -> Response:
    body = {"code": "ResourceNotFound", "message": "control endpoint disabled", "details": {}, "ref": ""}
    return Response(json.dumps(body), status=404, mimetype="application/json")
