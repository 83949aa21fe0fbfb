"""The baseline of the end-to-end bench: a nameko service that does nothing but answer."""

from nameko.rpc import rpc


class EchoService:
    name = "bench_echo"

    @rpc
    def echo(self, value):
        return value
