import json

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    seen = {
        "method": req.method,
        "url": req.url,
        "params": dict(req.params),
        "routeParams": dict(req.route_params),
        "host": req.headers.get("Host"),
        "custom": req.headers.get("x-custom"),
        "body": req.get_body().decode("utf-8"),
        "json": req.get_json() if req.get_body() else None,
    }
    headers = {"X-Seen": "yes", "Set-Cookie": "session=abc; Path=/; HttpOnly"}
    return func.HttpResponse(json.dumps(seen), status_code=201, headers=headers,
                             mimetype="application/json")
