"""Who may do what: script permissions, personal API tokens, sign-in, the audit log."""
