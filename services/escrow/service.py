"""The escrow nameko service: thin entrypoints over the application layer."""
from services.platform_service import PlatformService


class EscrowService(PlatformService):
    name = "escrow"
