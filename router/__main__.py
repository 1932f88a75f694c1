from router.app import create_app
from router.settings import RouterSettings
from services.serve import serve

if __name__ == "__main__":
    serve(create_app, RouterSettings())
