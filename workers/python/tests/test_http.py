"""HTTP invocations: the seed's client and status functions, and the HTTP binding's rules."""

import base64
import http.server
import json
import threading
from urllib.parse import quote

import pytest

PUBLIC = "http://localhost:7071/runtime/webhooks/durabletask"
KEY = "code=SYSTEMKEY"


class Management(http.server.ThreadingHTTPServer):
    """The host's loopback management listener, played by the test: records and answers."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ManagementHandler)
        self.requests = []
        self.answers = {}  # (method, path) -> (status, body or None)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def rpc_base(self):
        return f"http://127.0.0.1:{self.server_address[1]}/runtime/webhooks/durabletask/"


class ManagementHandler(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        self.server.requests.append({"method": self.command, "path": self.path,
                                     "headers": dict(self.headers), "body": body})
        status, payload = self.server.answers.get((self.command, self.path.split("?")[0]),
                                                  (404, None))
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args):
        pass


def starter(rpc_base: str) -> str:
    """The client binding JSON the host passes to ``durableClient`` bindings."""
    query = f"taskHub=TestHubName&connection=Storage&{KEY}"
    instance = f"{PUBLIC}/instances/INSTANCEID"
    return json.dumps({
        "taskHubName": "TestHubName",
        "connectionName": "Storage",
        "creationUrls": {
            "createNewInstancePostUri":
                f"{PUBLIC}/orchestrators/{{functionName}}[/{{instanceId}}]?{KEY}",
            "createAndWaitOnNewInstancePostUri":
                f"{PUBLIC}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout="
                f"{{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{KEY}",
        },
        "managementUrls": {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{instance}?{query}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{instance}?{query}",
            "restartPostUri": f"{instance}/restart?{query}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
        },
        "baseUrl": PUBLIC,
        "requiredQueryStringParameters": KEY,
        "rpcBaseUrl": rpc_base,
    })


def request(method="GET", path="/api/submit/query", params=None, host="localhost:7071",
            body=b"", route=None, headers=None):
    params = params or {}
    query = "&".join(f"{k}={quote(v, safe='/')}" for k, v in params.items())
    all_headers = {"host": host, "user-agent": "curl/8.0"}
    all_headers.update(headers or {})
    return {"method": method, "url": f"http://{host}{path}" + (f"?{query}" if query else ""),
            "headers": all_headers, "params": params, "routeParams": route or {},
            "body": base64.b64encode(body).decode()}


def body_of(reply):
    assert reply["ok"], reply
    return base64.b64decode(reply["response"]["body"]).decode()


def header(reply, name):
    values = [v for n, v in reply["response"]["headers"] if n.lower() == name.lower()]
    return values[0] if len(values) == 1 else values


@pytest.fixture(scope="module")
def management():
    server = Management()
    yield server
    server.shutdown()


@pytest.mark.parametrize("params,message", [
    ({}, "Empty start date."),
    ({"s": "10/08/2021", "e": "abcd"}, "Invalid end date format."),
    ({"s": "10/08/2021", "e": "05/08/2021"}, "Invalid date range."),
    ({"s": "not a date", "e": "05/08/2021"}, "Invalid start date format."),
    ({"s": "10/08/2021"}, "Empty end date."),
])
def test_the_client_function_rejects_what_the_article_rejects(audit, management, params,
                                                              message):
    reply = audit.invoke("client-function", "http", request=request(params=params),
                         inputs={"starter": starter(management.rpc_base)})
    assert reply["response"]["status"] == 400
    assert body_of(reply) == json.dumps({"error": message})
    assert header(reply, "Content-Type") == "application/json"


def test_the_client_function_starts_the_orchestrator_through_the_starter(audit, management):
    management.answers[("POST", "/runtime/webhooks/durabletask/orchestrators/"
                                "orchestrator-function")] = (
        202, {"id": "0a31a173b2091d2ca096f36f188a9e13"})
    before = len(management.requests)
    reply = audit.invoke("client-function", "http",
                         request=request(params={"s": "10/10/2021", "e": "10/12/2021"},
                                         host="func-sa.example.net"),
                         inputs={"starter": starter(management.rpc_base)})
    assert reply["response"]["status"] == 200
    assert body_of(reply) == json.dumps(
        {"statusUri": "http://func-sa.example.net/api/status/0a31a173b2091d2ca096f36f188a9e13"})
    started = management.requests[before]
    assert started["method"] == "POST"
    assert started["path"] == "/runtime/webhooks/durabletask/orchestrators/orchestrator-function"
    # dateutil with dayfirst: 10/12/2021 is the 10th of December. The SDK JSON-encodes the
    # input, then aiohttp JSON-encodes that string again.
    assert json.loads(json.loads(started["body"])) == {"start": "2021-10-10",
                                                       "end": "2021-12-10"}


@pytest.mark.parametrize("answer,expected_status,expected_body", [
    ((202, {"name": "orchestrator-function", "instanceId": "abc", "runtimeStatus": "Running",
            "input": None, "customStatus": None, "output": None,
            "createdTime": "2021-10-12T10:00:00Z", "lastUpdatedTime": "2021-10-12T10:00:03Z"}),
     200, json.dumps({"id": "abc", "status": "Running", "result": None})),
    ((200, {"name": "orchestrator-function", "instanceId": "abc", "runtimeStatus": "Completed",
            "input": None, "customStatus": None, "output": 119,
            "createdTime": "2021-10-12T10:00:00Z", "lastUpdatedTime": "2021-10-12T10:03:00Z"}),
     200, json.dumps({"id": "abc", "status": "Completed", "result": 119})),
    ((404, None), 404, "Job not found"),
])
def test_the_status_function_reports_what_the_management_api_says(
        audit, management, answer, expected_status, expected_body):
    management.answers[("GET", "/runtime/webhooks/durabletask/instances/abc")] = answer
    reply = audit.invoke("get-status-function", "http",
                         request=request(path="/api/status/abc", route={"id": "abc"}),
                         inputs={"starter": starter(management.rpc_base)})
    assert reply["response"]["status"] == expected_status
    assert body_of(reply) == expected_body
    # func.HttpResponse's defaults, encoded by azure-functions itself.
    assert header(reply, "content-type") == "text/plain; charset=utf-8"
    assert reply["response"]["mimetype"] == "text/plain"
    assert reply["response"]["charset"] == "utf-8"


def test_the_request_reaches_the_function_as_a_real_http_request(probe):
    reply = probe.invoke("http-echo", "http", request=request(
        method="post", path="/api/echo/lamp", params={"q": "1 2", "r": "x"},
        route={"thing": "lamp"}, body=b'{"a": [1, 2]}',
        headers={"X-Custom": "value", "content-type": "application/json"}))
    assert reply["response"]["status"] == 201
    seen = json.loads(body_of(reply))
    assert seen == {"method": "POST", "url": "http://localhost:7071/api/echo/lamp?q=1%202&r=x",
                    "params": {"q": "1 2", "r": "x"}, "routeParams": {"thing": "lamp"},
                    "host": "localhost:7071", "custom": "value", "body": '{"a": [1, 2]}',
                    "json": {"a": [1, 2]}}
    assert header(reply, "X-Seen") == "yes"
    assert header(reply, "content-type") == "application/json"
    assert header(reply, "Set-Cookie") == "session=abc; HttpOnly; Path=/"


def test_a_returned_str_is_a_plain_text_200(probe):
    reply = probe.invoke("http-str", "http", request=request(params={"name": "ada"}))
    assert reply["response"]["status"] == 200
    assert body_of(reply) == "plain ada"
    assert header(reply, "Content-Type") == "text/plain; charset=utf-8"


def test_a_named_http_output_binding_carries_the_response(probe):
    reply = probe.invoke("http-out", "http", request=request())
    assert base64.b64decode(reply["response"]["body"]) == b"\x00\x01binary"
    assert header(reply, "content-type") == "application/octet-stream"


def test_a_returned_dict_is_refused_as_the_azure_worker_refuses_it(probe):
    reply = probe.invoke("http-dict", "http", request=request())
    assert reply["ok"] is False
    assert reply["error"]["type"] == "TypeError"
    assert 'unsupported type "http" for Python type "dict"' in reply["error"]["message"]


def test_a_missing_client_binding_value_is_an_invocation_error(audit):
    reply = audit.invoke("client-function", "http", request=request())
    assert reply["ok"] is False and "starter" in reply["error"]["message"]


def test_a_malformed_request_is_an_invocation_error(probe):
    reply = probe.invoke("http-str", "http", request={"method": "GET", "url": 7})
    assert reply["ok"] is False and "request.method" in reply["error"]["message"]
    reply = probe.invoke("http-str", "http", request=dict(request(), body="***"))
    assert reply["ok"] is False and "base64" in reply["error"]["message"]


def test_the_v2_starter_answers_with_the_check_status_response(showcase, management):
    management.answers[("POST", "/runtime/webhooks/durabletask/orchestrators/"
                                "fan_out_fan_in")] = (202, {"id": "i-42"})
    before = len(management.requests)
    reply = showcase.invoke("http_start", "http", request=request(
        method="POST", path="/api/orchestrators/fan_out_fan_in", host="example.org:8080",
        route={"functionName": "fan_out_fan_in"}, body=b'["Oslo"]'),
        inputs={"client": starter(management.rpc_base)})
    assert reply["response"]["status"] == 202
    payload = json.loads(body_of(reply))
    # The management URLs take the origin the client used (the request's url).
    assert payload["statusQueryGetUri"] == (
        "http://example.org:8080/runtime/webhooks/durabletask/instances/i-42"
        f"?taskHub=TestHubName&connection=Storage&{KEY}")
    assert header(reply, "Location") == payload["statusQueryGetUri"]
    assert json.loads(json.loads(management.requests[before]["body"])) == ["Oslo"]


def test_the_v2_event_sender_raises_the_event(showcase, management):
    management.answers[("POST", "/runtime/webhooks/durabletask/instances/i-7/raiseEvent/"
                                "Approval")] = (202, None)
    before = len(management.requests)
    reply = showcase.invoke("approve", "http", request=request(
        method="POST", path="/api/approvals/i-7", route={"instanceId": "i-7"},
        body=b'{"by": "ann"}'), inputs={"client": starter(management.rpc_base)})
    assert reply["response"]["status"] == 202
    raised = management.requests[before]
    assert raised["path"] == "/runtime/webhooks/durabletask/instances/i-7/raiseEvent/Approval"
    # Event data is JSON-encoded twice as well.
    assert json.loads(json.loads(raised["body"])) == {"by": "ann"}
