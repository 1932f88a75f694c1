from intake.app import create_app
from intake.settings import IntakeSettings
from services.serve import serve

if __name__ == "__main__":
    serve(create_app, IntakeSettings())
