from services.poller.app import create_app
from services.poller.settings import PollerSettings
from shared.service_main import run_service

if __name__ == "__main__":
    run_service("poller", PollerSettings, create_app, lambda s: s.poller_port)
