"""The intake's OpenAPI description: served as kept in docs/, a valid OpenAPI 3.1
document whose schemas (JSON Schema 2020-12) hold for what the intake really
answers, asked with real curl for every route, good requests and refusals."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from test_intake import API, CURL, PING, alert, event, served, webhook

from bridge.runtime.intake import OPENAPI_FILE, OPENAPI_PATH

pytestmark = pytest.mark.skipif(CURL is None, reason="curl is not installed")

ROOT = Path(__file__).resolve().parents[1]
DOCS_COPY = ROOT / "docs" / "intake-openapi.json"
SHIPPED = ROOT / "bridge" / "runtime" / OPENAPI_FILE
SPEC_URI = "urn:bridge:intake-openapi"
METHODS = ("get", "head", "post", "put", "delete", "options", "patch")


def spec() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SHIPPED.read_text(encoding="utf-8"))
    return document


def pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def validator(at: str) -> Draft202012Validator:
    """A validator for the schema at JSON pointer `at` of the document, its $refs
    resolved within the document."""
    resource = Resource.from_contents(spec(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return Draft202012Validator({"$ref": SPEC_URI + at}, registry=registry)


async def ask(
    url: str, method: str, body: bytes | None = None, token: str | None = None
) -> tuple[int, str, bytes]:
    """(status, content type, body) of one request made with curl."""
    assert CURL is not None
    # HEAD: curl -I writes the headers where a body would go; they are dropped.
    out_to = "/dev/null" if method == "HEAD" else "-"
    args = ["-sS", "-m", "10", "-o", out_to, "-w", "\n%{http_code} %{content_type}"]
    args += ["-I"] if method == "HEAD" else ["-X", method]
    if token is not None:
        args += ["-H", f"Authorization: Bearer {token}"]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    proc = await asyncio.create_subprocess_exec(
        CURL, *args, url, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(body), 30)
    text, _, tail = out.rpartition(b"\n")
    code, _, ctype = tail.decode().partition(" ")
    return int(code), ctype.split(";")[0].strip(), text


def test_the_docs_copy_is_the_document_bridge_ships() -> None:
    assert DOCS_COPY.read_bytes() == SHIPPED.read_bytes(), (
        f"docs/intake-openapi.json differs from bridge/runtime/{OPENAPI_FILE}: copy it over"
    )


def test_the_document_is_openapi_3_1_with_valid_schemas_and_refs() -> None:
    document = spec()
    assert document["openapi"].startswith("3.1.")
    assert {"title", "version"} <= set(document["info"])
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)  # each a valid JSON Schema 2020-12
        assert name.isidentifier()

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None:
                assert ref.startswith("#/"), (where, ref)
                target: Any = document
                for part in ref[2:].split("/"):
                    target = target[part.replace("~1", "/").replace("~0", "~")]
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(document, "")
    for path, item in document["paths"].items():
        names = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert names == set(path.replace("}", "{").split("{")[1::2]), path
        for method in set(item) & set(METHODS):
            operation = item[method]
            assert operation["responses"], (path, method)
            for status in operation["responses"]:
                assert status.isdigit() and 100 <= int(status) <= 599, (path, method, status)
    ids = [item[m]["operationId"] for item in document["paths"].values() for m in item
           if m in METHODS]  # fmt: skip
    assert len(ids) == len(set(ids)), "operationIds are unique"


async def test_every_route_the_intake_serves_is_described(tmp_path: Path) -> None:
    async with served(tmp_path) as srv:
        routes = {r.canonical for r in srv.intake.app.router.resources()}
    assert routes == set(spec()["paths"])


async def test_the_served_document_is_the_file(tmp_path: Path) -> None:
    async with served(tmp_path) as srv:
        code, ctype, body = await ask(srv.url + OPENAPI_PATH, "GET")  # no token needed
    assert (code, ctype) == (200, "application/json")
    assert body == DOCS_COPY.read_bytes()


# (method, URL path, described path, token, body)
Case = tuple[str, str, str, str | None, bytes | None]


def cases() -> list[Case]:
    ping, ping_do = "/ping/{token}/{job}", "/ping/{token}/{job}/{action}"
    events, am = "/api/v1/events", "/api/v1/alertmanager"
    one = json.dumps(event()).encode()
    some = json.dumps([event(resource="db2"), event(resource="db3", severity="ok")]).encode()
    return [
        ("GET", f"/ping/{PING}/backup", ping, None, None),
        ("HEAD", f"/ping/{PING}/backup", ping, None, None),
        ("POST", f"/ping/{PING}/backup/start?rid=run-1", ping_do, None, b"starting"),
        ("POST", f"/ping/{PING}/backup/1?rid=run-1", ping_do, None, b"disk full"),
        ("GET", f"/ping/{PING}/report/log", ping_do, None, None),
        ("GET", f"/ping/{PING}/nosuchjob", ping, None, None),
        ("GET", "/ping/wrong-token-0123456789/backup", ping, None, None),
        ("GET", f"/ping/{API}/backup", ping, None, None),
        ("GET", f"/ping/{PING}/backup/256", ping_do, None, None),
        ("GET", f"/ping/{PING}/backup/bogus", ping_do, None, None),
        ("PUT", f"/ping/{PING}/backup", ping, None, None),
        ("POST", f"/ping/{PING}/backup", ping, None, b"x" * 5000),
        ("POST", events, events, API, one),
        ("POST", events, events, API, some),
        ("POST", events, events, API, b"{not json"),
        ("POST", events, events, API, json.dumps(event(severity="loud")).encode()),
        ("POST", events, events, None, one),
        ("POST", events, events, PING, one),
        ("POST", events, events, API, b"x" * 3000),
        ("DELETE", events, events, API, None),
        ("GET", events, events, API, None),
        ("GET", events + "?all=1&limit=10&filter=resource:db2", events, API, None),
        ("GET", events + "?filter=severity:loud", events, API, None),
        ("GET", events + "?limit=0", events, API, None),
        ("POST", am, am, API, webhook(alert(), alert(instance="db9:9100"))),
        ("POST", am, am, API, webhook(alert("resolved"))),
        ("POST", am, am, API, b'{"version": "4"}'),
        ("POST", am, am, None, webhook(alert())),
        ("GET", am, am, API, None),
        ("GET", "/healthz", "/healthz", None, None),
        ("HEAD", "/healthz", "/healthz", None, None),
        ("GET", OPENAPI_PATH, OPENAPI_PATH, None, None),
    ]


async def test_real_answers_hold_to_the_document(tmp_path: Path) -> None:
    document = spec()
    seen: set[tuple[str, str, str]] = set()
    async with served(tmp_path) as srv:
        for method, path, described, token, body in cases():
            code, ctype, answer = await ask(srv.url + path, method, body, token)
            where = f"{method} {path[:60]} -> {code}"
            operation = document["paths"][described].get(method.lower())
            if operation is None:  # a method the path does not take: refused as JSON
                assert code == 405, where
                validator(pointer("components", "schemas", "Error")).validate(json.loads(answer))
                continue
            responses = operation["responses"]
            assert str(code) in responses, f"{where}: status not described"
            seen.add((described, method, str(code)))
            content = responses[str(code)].get("content")
            if method == "HEAD":
                continue
            assert content is not None and ctype in content, f"{where}: {ctype} not described"
            at = pointer("paths", described, method.lower(), "responses", str(code), "content",
                         ctype, "schema")  # fmt: skip
            value = json.loads(answer) if ctype == "application/json" else answer.decode()
            errors = [e.message for e in validator(at).iter_errors(value)]
            assert errors == [], f"{where}: {errors[:3]}"
            taken_json = "application/json" in operation.get("requestBody", {}).get("content", {})
            if code == 200 and body is not None and taken_json:
                # What the intake took is what the document says it takes.
                request_at = pointer("paths", described, method.lower(), "requestBody",
                                     "content", "application/json", "schema")  # fmt: skip
                validator(request_at).validate(json.loads(body))
    assert len(seen) >= 20, seen
