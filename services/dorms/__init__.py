"""Dormitories: inventory, applications, allocation, offers, stays."""
