"""The action server: rasa-sdk's own app, on loopback by default, answering only our Rasa.

rasa-sdk 3.6 has no authentication, and every action acts with the service token for whatever sender_id
a tracker names. So every call but the health check must carry the shared secret that Rasa sends as
`Authorization: Bearer <ACTIONS_TOKEN>` (endpoints.yml, action_endpoint.headers).

    python -m actions.server --host 127.0.0.1 --port 5055
"""

import argparse
import hmac
import logging
import sys
from typing import Optional, Sequence

from sanic import Sanic, response

from actions import config

logger = logging.getLogger("actions.server")

# The service's health check; it says nothing about any customer.
OPEN_PATHS = frozenset({"/health"})


def create_app(token: str, package: str = "actions") -> Sanic:
    from rasa_sdk.endpoint import create_app as sdk_app

    if not token:
        raise ValueError("The action server needs a secret (ACTIONS_TOKEN) shared with Rasa.")
    app = sdk_app(package, cors_origins=None)  # no browser has any business here
    expected = f"Bearer {token}".encode()

    @app.middleware("request")
    async def require_secret(request):
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            logger.warning("action call refused path=%s client=%s", request.path, request.ip)
            return response.json({"error": "This action server answers only its Rasa server."},
                                 status=401)
        return None

    return app


def main(argv: Optional[Sequence[str]] = None) -> int:
    from rasa_sdk import utils
    from rasa_sdk.plugin import plugin_manager

    parser = argparse.ArgumentParser(description="Customer Care Registry action server")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args(argv)
    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    try:
        app = create_app(config.settings.actions_token)
    except ValueError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 2
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    logger.info("action server listening host=%s port=%s", args.host, args.port)
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
