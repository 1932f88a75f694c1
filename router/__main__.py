"""`python -m router` serves the router; `python -m router what-if --policy FILE` compares a
candidate policy with the one in force on every dispute reported so far; `python -m router
registry check FILE` reads a jurisdiction file and names every problem in it."""

import sys

from router.policy import PolicyError


def main(argv: list[str]) -> int:
    if argv and argv[0] == "what-if":
        from router.whatif import main as what_if  # noqa: PLC0415 (only this command needs it)

        return what_if(argv[1:])
    if argv and argv[0] == "registry":
        from router.registry_cli import main as registry  # noqa: PLC0415

        return registry(argv[1:])
    from router.app import create_app  # noqa: PLC0415
    from router.settings import RouterSettings  # noqa: PLC0415
    from services.serve import serve  # noqa: PLC0415

    settings = RouterSettings()
    try:
        app = create_app(settings)
    except PolicyError as error:
        print(f"router: refusing to start: {error}", file=sys.stderr)
        return 2
    serve(lambda: app, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
