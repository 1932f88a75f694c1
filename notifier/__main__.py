from notifier.app import create_app
from notifier.settings import NotifierSettings
from services.serve import serve

if __name__ == "__main__":
    serve(create_app, NotifierSettings())
