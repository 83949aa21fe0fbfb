"""Domain errors, shared by the services' domains (stdlib only). The gateway maps them by
name: InvalidInput 400, NotFound 404, Conflict 409, BusinessRuleViolation 422."""


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class BusinessRuleViolation(DomainError):
    code = "business_rule_violated"
