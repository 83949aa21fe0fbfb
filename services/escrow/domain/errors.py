"""This domain's errors are the platform's shared domain errors."""
from services.domain_errors import (
    BusinessRuleViolation,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
)

__all__ = ["BusinessRuleViolation", "Conflict", "DomainError", "InvalidInput", "NotFound"]
