"""scriptdeck: run a team's operational scripts from the web, recorded and measured."""

__version__ = "0.1.0"
