#!/usr/bin/env python3
"""Checks real API responses against the OpenAPI 3.1 document the server publishes.

Input: the document (JSON) and a JSON list of exchanges recorded by ServingTests:
  [{"method": "post", "path": "/v1/predict", "status": 200,
    "content_type": "application/json; charset=utf-8", "headers": {...}, "body": "<text>"}, ...]
For each exchange: the path and method must be in the document, the status must be a
documented response, the media type must be one it lists, and a JSON body must validate
against its schema (JSON Schema 2020-12, with the document's components for $ref).
Documented response headers must be present. Prints one line per problem; exit status 1 if
any.

Usage: check_openapi.py DOCUMENT.json EXCHANGES.json
"""

from __future__ import annotations

import json
import sys

from jsonschema import Draft202012Validator


def resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        target = document
        for key in node["$ref"].lstrip("#/").split("/"):
            target = target[key]
        node = target
    return node


def check(document: dict, exchange: dict) -> list[str]:
    where = f"{exchange['method'].upper()} {exchange['path']} → {exchange['status']}"
    operation = document["paths"].get(exchange["path"], {}).get(exchange["method"])
    if operation is None:
        return [f"{where}: not in the document"]
    response = operation["responses"].get(str(exchange["status"]))
    if response is None:
        return [f"{where}: status not documented (documented: {sorted(operation['responses'])})"]
    response = resolve(document, response)
    problems = []
    for header in response.get("headers", {}):
        if exchange["status"] in (429, 503) and header.lower() not in {h.lower() for h in exchange["headers"]}:
            problems.append(f"{where}: documented header {header} missing")
    media = exchange["content_type"].split(";")[0].strip()
    content = response.get("content", {})
    if media not in content:
        return problems + [f"{where}: media type {media} not documented ({sorted(content)})"]
    schema = resolve(document, content[media]["schema"])
    if media == "application/json":
        try:
            body = json.loads(exchange["body"])
        except json.JSONDecodeError as error:
            return problems + [f"{where}: body is not JSON: {error}"]
        validator = Draft202012Validator({**schema, "components": document["components"]})
        for error in validator.iter_errors(body):
            problems.append(f"{where}: {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}")
    return problems


def main() -> int:
    document = json.load(open(sys.argv[1]))
    exchanges = json.load(open(sys.argv[2]))
    Draft202012Validator.check_schema({"$defs": document["components"]["schemas"]})
    problems = [p for exchange in exchanges for p in check(document, exchange)]
    for problem in problems:
        print(problem)
    print(f"{len(exchanges)} exchanges checked, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
