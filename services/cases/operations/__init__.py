"""Case operations by topic: intake, handoffs, lifecycle, deadlines."""
