"""The OpenAPI document is generated from the routes and is valid OpenAPI 3."""
from __future__ import annotations


def test_openapi_document_lists_every_api_route(client, app):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.openapi":
            continue
        path = rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} missing from OpenAPI"


def test_openapi_describes_token_endpoint(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    token = spec["paths"]["/auth/token"]["post"]
    assert token["security"] == []
    assert {"200", "401", "422", "429"} <= set(token["responses"])
    schema_ref = token["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = schema_ref.rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][name]["required"]) == {"username", "password"}
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert spec["paths"]["/me"]["get"]["security"] == [{"bearer": []}]


def test_openapi_document_validates(client):
    from openapi_spec_validator import validate

    validate(client.get("/api/v1/openapi.json").get_json())
