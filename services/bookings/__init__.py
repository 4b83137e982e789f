"""Welfare-service bookings: catalogue, slots, bookings, waitlists, lotteries, check-in."""
