"""Tests for services.core.pii: encryption, blind indexes, phone and ID helpers."""
from __future__ import annotations

import base64
import hashlib
import os
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

# Without a conftest the repository root may not be importable yet.

from services.core import pii  # noqa: E402
from services.core.pii import (  # noqa: E402
    EncryptedString,
    PiiError,
    decrypt,
    encrypt,
    is_valid_cn_mobile,
    is_valid_national_id,
    load_key,
    lookup_hash,
    mask_national_id,
    mask_phone,
    normalise_national_id,
    normalise_phone,
)


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def with_check_char(first17: str) -> str:
    """Append the GB 11643 check character, written independently of the module."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    remainder = sum(int(d) * w for d, w in zip(first17, weights)) % 11
    return first17 + "10X98765432"[remainder]


# --- keys -----------------------------------------------------------------------------------

def test_load_key_accepts_padded_and_unpadded() -> None:
    raw = os.urandom(32)
    padded = base64.urlsafe_b64encode(raw).decode()
    assert padded.endswith("=")
    assert load_key(padded) == raw
    assert load_key(padded.rstrip("=")) == raw


@pytest.mark.parametrize(
    "bad",
    [
        base64.urlsafe_b64encode(b"\x01" * 16).decode(),
        base64.urlsafe_b64encode(b"\x02" * 33).decode(),
        "",
        "not a key!!",
        "%%%%" * 11,
    ],
)
def test_load_key_rejects_bad_keys(bad: str) -> None:
    with pytest.raises(PiiError, match="32 random bytes"):
        load_key(bad)


def test_subkeys_are_independent_of_master_and_each_other() -> None:
    master = load_key(new_key())
    enc_key, lookup_key = pii._subkeys(master)
    assert len(enc_key) == len(lookup_key) == 32
    assert len({master, enc_key, lookup_key}) == 3


# --- encryption -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["13812345678", "张三，北京市朝阳区", "", "a" * 500])
def test_round_trip(value: str) -> None:
    key = new_key()
    token = encrypt(value, key=key)
    assert token.startswith("v1.")
    assert "=" not in token
    assert value not in token or value == ""
    assert decrypt(token, key=key) == value


def test_encryptions_differ_by_nonce() -> None:
    key = new_key()
    first, second = encrypt("13812345678", key=key), encrypt("13812345678", key=key)
    assert first != second
    assert decrypt(first, key=key) == decrypt(second, key=key) == "13812345678"


def test_tampered_token_is_rejected() -> None:
    key = new_key()
    token = encrypt("secret", key=key)
    body = token[3:]
    flipped = "A" if body[20] != "A" else "B"
    with pytest.raises(PiiError):
        decrypt("v1." + body[:20] + flipped + body[21:], key=key)
    with pytest.raises(PiiError):
        decrypt(token[:-4], key=key)


def test_wrong_key_is_rejected() -> None:
    token = encrypt("secret", key=new_key())
    with pytest.raises(PiiError):
        decrypt(token, key=new_key())


@pytest.mark.parametrize("token", ["", "secret", "v2.abcd", "v1.", "v1.!!!!", "v1.AAAA"])
def test_bad_format_is_rejected(token: str) -> None:
    with pytest.raises(PiiError):
        decrypt(token, key=new_key())


# --- blind index ----------------------------------------------------------------------------

def test_lookup_hash() -> None:
    key = new_key()
    digest = lookup_hash("13812345678", purpose="phone", key=key)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == lookup_hash("13812345678", purpose="phone", key=key)
    assert digest != lookup_hash("13812345679", purpose="phone", key=key)
    assert digest != lookup_hash("13812345678", purpose="national_id", key=key)
    assert digest != lookup_hash("13812345678", purpose="phone", key=new_key())
    assert digest != hashlib.sha256(b"13812345678").hexdigest()
    assert digest != hashlib.sha256(b"phone:13812345678").hexdigest()


# --- phone numbers --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw", ["+86 138 1234 5678", "86 138-1234-5678", "8613812345678", "138 1234 5678", "13812345678"]
)
def test_normalise_phone(raw: str) -> None:
    assert normalise_phone(raw) == "13812345678"


@pytest.mark.parametrize("phone", ["13812345678", "+86 199 0000 1111", "15012345678"])
def test_valid_mobiles(phone: str) -> None:
    assert is_valid_cn_mobile(phone)


@pytest.mark.parametrize(
    "phone", ["", "12812345678", "1381234567", "138123456789", "23812345678", "1381234567a", "010-12345678"]
)
def test_invalid_mobiles(phone: str) -> None:
    assert not is_valid_cn_mobile(phone)


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("1234567") == "*******"
    assert mask_phone("") == ""
    masked = mask_phone("12345678")
    assert masked == "123*5678" and len(masked) == 8


# --- national ID numbers --------------------------------------------------------------------

def test_check_helper_agrees_with_published_sample() -> None:
    assert with_check_char("11010519491231002") == "11010519491231002X"


def test_published_samples() -> None:
    assert is_valid_national_id("11010519491231002X")
    # Its checksum is right, but a birth year of 1880 is out of range.
    assert with_check_char("44052418800101001") == "440524188001010014"
    assert not is_valid_national_id("440524188001010014")


def test_lowercase_x_and_spaces_accepted() -> None:
    assert normalise_national_id(" 110105 19491231 002x ") == "11010519491231002X"
    assert is_valid_national_id("11010519491231002x")


@pytest.mark.parametrize(
    "bad",
    [
        "11010519491231003X",  # one digit changed: checksum breaks
        "11010519491231002Y",
        "110105194912310021",
        with_check_char("11010519900230123"),  # 30 February
        with_check_char("11010519901301123"),  # month 13
        with_check_char("11010518991231123"),  # before 1900
        with_check_char("110105" + (date.today() + timedelta(days=1)).strftime("%Y%m%d") + "123"),
        "11010519491231002",  # wrong length
        "11010519491231002X0",
        "",
        "X1010519491231002X",
    ],
)
def test_invalid_national_ids(bad: str) -> None:
    assert not is_valid_national_id(bad)


def test_earliest_and_today_birth_dates_accepted() -> None:
    assert is_valid_national_id(with_check_char("11010519000101123"))
    assert is_valid_national_id(with_check_char("110105" + date.today().strftime("%Y%m%d") + "123"))


def test_mask_national_id() -> None:
    assert mask_national_id("32090219900101123X") == "3209**********123X"
    assert len(mask_national_id("32090219900101123X")) == 18
    assert mask_national_id("32090219900101123x") == "3209**********123X"
    assert mask_national_id("12345") == "*****"
    assert mask_national_id("") == ""


# --- SQLAlchemy column type -----------------------------------------------------------------

class Base(DeclarativeBase):
    pass


class Person(Base):
    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str | None] = mapped_column(EncryptedString(255))


def test_encrypted_string_column_round_trip() -> None:
    app = Flask(__name__)
    app.config["DATA_KEY"] = new_key()
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with app.app_context():
        with Session(engine) as session:
            session.add_all([Person(id=1, phone="13812345678"), Person(id=2, phone=None)])
            session.commit()
        with Session(engine) as session:
            assert session.get(Person, 1).phone == "13812345678"
            assert session.get(Person, 2).phone is None
            assert session.scalars(select(Person.phone).order_by(Person.id)).all() == [
                "13812345678",
                None,
            ]
        with engine.connect() as conn:
            raw = conn.execute(text("SELECT phone FROM person ORDER BY id")).scalars().all()
    assert raw[1] is None
    assert raw[0] != "13812345678" and "13812345678" not in raw[0]
    assert raw[0].startswith("v1.")
    assert decrypt(raw[0], key=app.config["DATA_KEY"]) == "13812345678"
    assert EncryptedString(255).impl.length == 255
