"""Every route declares who may use it; state never changes on GET."""
from __future__ import annotations

PUBLIC_ENDPOINTS = {
    "static", "home.index", "home.healthz", "auth.login", "auth.register", "auth.language",
    "api.token", "api.register", "api.parks", "api.openapi",
}


def test_every_route_declares_roles_or_is_on_the_public_list(app):
    undeclared, unexpected_public = [], []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "allowed_roles", None)
        is_public = getattr(view, "is_public", False) or rule.endpoint == "static"
        if not roles and not is_public:
            undeclared.append(rule.rule)
        if is_public and rule.endpoint not in PUBLIC_ENDPOINTS:
            unexpected_public.append(rule.endpoint)
    assert undeclared == [], f"routes without @roles_required or @public: {undeclared}"
    assert unexpected_public == [], f"public routes not on the reviewed list: {unexpected_public}"


def test_routes_that_change_state_do_not_accept_get(app):
    readers = {"home.index", "home.notifications", "home.healthz", "static", "api.openapi",
               "api.parks", "api.me", "api.export_me", "admin.users", "admin.user", "admin.orgs",
               "profile.export_data",
               "api.list_cases", "api.get_case", "api.list_handoffs", "api.list_aid_requests",
               "api.get_aid_request", "api.prescreen_query",
               "dorms.index", "dorms.application", "dorms.manage", "dorms.rooms", "dorms.run",
               "dorms.queue", "dorms.stays", "dorms.transfers", "api.get_application", "api.park_rooms",
               "bookings.services", "bookings.service", "bookings.my_bookings", "bookings.booking",
               "bookings.booking_qr", "bookings.provider_services", "bookings.provider_service",
               "bookings.attendance", "bookings.attendance_csv", "bookings.dashboard",
               "bookings.dashboard_csv", "bookings.dashboard_xlsx", "api.list_services",
               "api.get_booking", "dorms.facts", "dorms.stay_photo",
               "dorms.dashboard", "dorms.dashboard_rooms", "dorms.dashboard_rooms_csv",
               "dorms.dashboard_rooms_xlsx", "dorms.dashboard_queue", "dorms.dashboard_queue_csv",
               "dorms.dashboard_queue_xlsx", "dorms.rent_statement", "dorms.rent_csv",
               "dorms.rent_xlsx",
               "cases.queue", "cases.case", "cases.case_file", "cases.team", "cases.rules",
               "cases.dashboard", "cases.dashboard_csv", "cases.dashboard_xlsx",
               "aid.index", "aid.new", "aid.consent", "aid.case", "aid.case_file"}
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and "POST" not in rule.methods:
            assert rule.endpoint in readers, f"{rule.endpoint} answers GET only: add it to readers"
