from services.billing.app import create_app
from services.billing.settings import BillingSettings
from shared.service_main import run_service

if __name__ == "__main__":
    run_service("billing", BillingSettings, create_app, lambda s: s.billing_port)
