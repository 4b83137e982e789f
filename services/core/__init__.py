"""The shared kernel: errors, access, audit, personal data, calendar, notifications, jobs, uploads.

It imports no domain package.
"""
