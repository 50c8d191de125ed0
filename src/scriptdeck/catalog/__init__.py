"""The script registry: what is in the scripts folder, and how a request names a script."""
