"""A production gateway with one staff login, one device and a WeChat endpoint, for tests."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.gateway import credentials as creds
from services.gateway.app import create_app
from tests.support.gateway import gateway_settings

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PEPPER = base64.b64encode(b"p" * 32).decode()
DEVICE_KEY = Ed25519PrivateKey.generate()
DEVICE_PUBLIC = base64.b64encode(
    DEVICE_KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
).decode()


def make_client(tmp_path, wechat_endpoint):
    registry = tmp_path / "credentials.toml"
    registry.write_text(f'''
consumer_pepper = "{PEPPER}"
[[staff]]
username = "reg-zhang"
role = "regulator"
subject = "reg-weihai-1"
password = "{creds.hash_password("correct horse")}"
totp_secret = "{TOTP_SECRET}"
department = "samr"
[[devices]]
key_id = "pos-0001"
role = "merchant"
subject = "m-42"
public_key = "{DEVICE_PUBLIC}"
[wechat]
app_id = "wx-test"
endpoint = "{wechat_endpoint}"
''')
    app = create_app(
        gateway_settings(
            tmp_path,
            "amqp://unused",
            mode="production",
            credentials_file=str(registry),
            wechat_app_secret="s3cret",
        ),
        tokens=None,
    )
    return app.test_client()
