"""Dormitory operations, by topic: inventory, applications, allocation, offers."""
