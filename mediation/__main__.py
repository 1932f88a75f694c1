from mediation.app import create_app
from mediation.settings import MediationSettings
from services.serve import serve

if __name__ == "__main__":
    serve(create_app, MediationSettings())
