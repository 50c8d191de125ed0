"""Read models: aggregates over the records, computed in the database for the doors to show."""
