"""Scripts that run themselves: schedules, incoming webhooks, and notifications of results."""
