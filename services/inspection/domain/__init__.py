"""The inspection domain: stdlib only (and services.domain_errors, policy)."""
