"""Account pages: sign-in, registration, home, profile, notifications and administration."""
from services.accounts.views import calendar  # noqa: F401  (routes on admin_bp)
from services.accounts.views.admin import admin_bp
from services.accounts.views.auth import auth_bp
from services.accounts.views.home import home_bp
from services.accounts.views.profile import profile_bp

__all__ = ["admin_bp", "auth_bp", "home_bp", "profile_bp"]
