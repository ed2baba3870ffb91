from services.settlement.app import create_app
from services.settlement.settings import SettlementSettings
from shared.service_main import run_service

if __name__ == "__main__":
    run_service("settlement", SettlementSettings, create_app, lambda s: s.settlement_port)
