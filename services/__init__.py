"""Anju: dormitories, aid cases and welfare-service bookings for industrial-park workers."""
