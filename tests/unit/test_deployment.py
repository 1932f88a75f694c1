"""The start-up check of secrets: production unless development is said, and in production no
missing, short or published development secret."""

import base64

import pytest

from intake.settings import IntakeSettings
from mediation.settings import MediationSettings
from router.settings import RouterSettings
from services.auth import AuthSettings
from services.deployment import (
    Environment,
    UnknownEnvironmentError,
    check_secrets,
    current_environment,
    secret_problems,
)
from services.privacy import PrivacySettings

STRONG = "s" * 32
STRONG_KEY = base64.b64encode(b"k" * 32).decode()
SECRET_VARIABLES = ("AUTH_KEYS", "SEALING_KEYS", "IDENTIFIER_SALT", "INTAKE_WECHAT_SECRET")


@pytest.fixture
def strong_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_KEYS", f"k2:{STRONG},k1:{STRONG}")
    monkeypatch.setenv("SEALING_KEYS", f"k1:{STRONG_KEY}")
    monkeypatch.setenv("IDENTIFIER_SALT", STRONG)
    monkeypatch.setenv("INTAKE_WECHAT_SECRET", STRONG)


@pytest.fixture
def development_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in SECRET_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, Environment.PRODUCTION),
        ("", Environment.PRODUCTION),
        ("production", Environment.PRODUCTION),
        (" Development ", Environment.DEVELOPMENT),
    ],
)
def test_production_unless_development_is_said(value: str | None, expected: Environment) -> None:
    environ = {} if value is None else {"TIAOJIE_ENV": value}
    assert current_environment(environ) is expected


def test_an_unknown_environment_is_refused_not_guessed() -> None:
    with pytest.raises(UnknownEnvironmentError, match="TIAOJIE_ENV must be production or"):
        current_environment({"TIAOJIE_ENV": "dev"})


@pytest.mark.usefixtures("development_secrets")
def test_every_development_default_is_named() -> None:
    problems = secret_problems(IntakeSettings().secrets())
    for variable in SECRET_VARIABLES:
        assert any(p.startswith(variable) and "development value" in p for p in problems)


@pytest.mark.usefixtures("development_secrets")
def test_each_service_checks_the_secrets_it_uses() -> None:
    def named(settings: RouterSettings | MediationSettings | IntakeSettings) -> set[str]:
        return {secret.variable for secret in settings.secrets()}

    assert named(RouterSettings()) == {"AUTH_KEYS"}
    assert named(MediationSettings()) == {"AUTH_KEYS", "SEALING_KEYS"}
    assert named(IntakeSettings()) == set(SECRET_VARIABLES)


@pytest.mark.usefixtures("strong_secrets")
def test_strong_secrets_pass() -> None:
    assert secret_problems(IntakeSettings().secrets()) == []


def test_short_secrets_are_named_with_their_size() -> None:
    auth = AuthSettings(auth_keys=f"k2:{STRONG},k1:short")
    assert secret_problems(auth.secrets()) == [
        "AUTH_KEYS key 'k1' is 5 bytes; at least 32 are required"
    ]
    salt = PrivacySettings(identifier_salt="x" * 31).salt_secret()
    assert secret_problems([salt]) == ["IDENTIFIER_SALT is 31 bytes; at least 32 are required"]


def test_a_development_key_kept_for_rotation_is_still_refused() -> None:
    auth = AuthSettings(auth_keys=f"k2:{STRONG},old:tiaojie-development-signing-key-change-me")
    assert secret_problems(auth.secrets()) == [
        "AUTH_KEYS key 'old' is the development value published in the code"
    ]


def test_sealing_keys_are_measured_decoded() -> None:
    short = base64.b64encode(b"k" * 16).decode()
    sealing = PrivacySettings(sealing_keys=f"k2:{short},k1:not base64!").sealing_secret()
    assert secret_problems([sealing]) == [
        "SEALING_KEYS key 'k2' is 16 base64-decoded bytes; exactly 32 are required",
        "SEALING_KEYS key 'k1' is 0 base64-decoded bytes; exactly 32 are required",
    ]
    too_long = base64.b64encode(b"k" * 48).decode()
    assert secret_problems([PrivacySettings(sealing_keys=f"k:{too_long}").sealing_secret()]) == [
        "SEALING_KEYS key 'k' is 48 base64-decoded bytes; exactly 32 are required"
    ]


def test_no_key_at_all_is_named() -> None:
    assert secret_problems(AuthSettings(auth_keys="").secrets()) == ["AUTH_KEYS is not set"]


@pytest.mark.usefixtures("development_secrets")
def test_production_refuses_to_start_naming_each_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIAOJIE_ENV", "production")
    with pytest.raises(SystemExit) as refused:
        check_secrets("intake", IntakeSettings().secrets())
    message = str(refused.value.code)
    assert message.startswith("intake: refusing to start in production")
    for variable in SECRET_VARIABLES:
        assert variable in message


@pytest.mark.usefixtures("development_secrets")
def test_development_starts_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TIAOJIE_ENV", "development")
    check_secrets("router", RouterSettings().secrets())
    assert "TIAOJIE_ENV=development" in capsys.readouterr().err
