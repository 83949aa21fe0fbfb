"""The risk nameko service: thin entrypoints over the application layer."""
from services.platform_service import PlatformService


class RiskService(PlatformService):
    name = "risk"
