"""Marshmallow schemas of the API: they validate input and describe it in the OpenAPI document."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.accounts.models import EmploymentForm
from services.core.access import Role
from services.core.web import LARGEST_ID


def id_field(*, strict: bool = False, **kwargs) -> fields.Integer:
    """The id of an object named in a body: a whole number a database id can be (1 to 2^31-1);
    PostgreSQL refuses a larger one for an INTEGER column, SQLite one beyond 2^63."""
    kwargs.setdefault("required", True)
    return fields.Integer(strict=strict, validate=validate.Range(min=1, max=LARGEST_ID), **kwargs)


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    field_errors = fields.Dict(keys=fields.String(), values=fields.Raw(), data_key="fields")


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=40))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class UserBriefSchema(Schema):
    id = fields.Integer(required=True)
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    user = fields.Nested(UserBriefSchema, required=True)


class RegisterSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=3, max=40))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))
    phone = fields.String(required=True, validate=validate.Length(min=1, max=20))
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    employer_id = id_field(required=False, load_default=None, allow_none=True)
    employment_form = fields.String(
        load_default=EmploymentForm.EMPLOYEE.value,
        validate=validate.OneOf([f.value for f in EmploymentForm]),
    )


class MeSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True)
    name = fields.String()
    phone = fields.String(metadata={"description": "masked, e.g. 138****5678"})
    org = fields.Dict(allow_none=True)


class ParkSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


class PageQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The paginated envelope `{"items", "page", "per_page", "total"}` around item_schema."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(required=True),
        },
        name=f"{item_schema.__name__.removesuffix('Schema')}Page",
    )
