"""The merchant nameko service: thin entrypoints over the application layer."""
from services.platform_service import PlatformService


class MerchantService(PlatformService):
    name = "merchant"
