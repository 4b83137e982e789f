"""Users, sign-in, profile, organisations (parks, employers, agencies, providers) and admin pages."""
