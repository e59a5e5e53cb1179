"""ActivationError: codes, messages and params."""

import pytest

from ublog_accounts.exceptions import ActivationError

CODES = ["expired", "invalid_key", "bad_username", "already_activated", "revoked"]


def test_codes_are_the_documented_strings():
    assert [
        ActivationError.EXPIRED,
        ActivationError.INVALID_KEY,
        ActivationError.BAD_USERNAME,
        ActivationError.ALREADY_ACTIVATED,
        ActivationError.REVOKED,
    ] == CODES
    assert set(ActivationError.MESSAGES) == set(CODES)


def test_each_code_has_a_distinct_message():
    messages = {str(message) for message in ActivationError.MESSAGES.values()}
    assert len(messages) == len(CODES)


@pytest.mark.parametrize("code", CODES)
def test_from_code(code):
    error = ActivationError.from_code(code, params={"days": 3})
    assert isinstance(error, Exception)
    assert error.code == code
    assert error.params == {"days": 3}
    assert error.message is ActivationError.MESSAGES[code]
    assert code in repr(error)


def test_message_params_are_interpolated():
    error = ActivationError.from_code("expired", params={"days": 3})
    assert "3 days" in str(error)


def test_plain_constructor():
    error = ActivationError("Nope", code="custom")
    assert (error.message, error.code, error.params) == ("Nope", "custom", None)
    assert str(error) == "Nope"
    assert error.args == ("Nope", "custom", None)
    with pytest.raises(ActivationError, match="Nope"):
        raise error
