"""Who is calling: OIDC tokens and sessions, trusted headers, roles."""
