"""Scripts that run themselves: schedules, webhook triggers, and notifications of results."""
