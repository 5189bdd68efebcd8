"""A display's token: only its hash is stored; revoking kills it; polls mark the display seen."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from wall.models import ALIVE_FOR, Display, token_hash

pytestmark = pytest.mark.django_db


def test_it_stores_only_a_hash_of_the_token(operator, make_display) -> None:
    display, token = make_display(operator)
    assert len(token) >= 40
    assert display.token_hash == token_hash(token) != token
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM wall_display")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert token not in stored


def test_it_finds_a_display_by_its_token_only(operator, make_display) -> None:
    display, token = make_display(operator)
    make_display(operator, name="Other")
    assert Display.objects.by_token(token) == display
    assert Display.objects.by_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert Display.objects.by_token("") is None
    assert Display.objects.by_token("x" * 500) is None


def test_each_display_gets_its_own_token(operator, make_display) -> None:
    tokens = {make_display(operator, name=f"d{i}")[1] for i in range(20)}
    assert len(tokens) == 20


def test_revoking_marks_it_once(operator, make_display) -> None:
    display, _ = make_display(operator)
    display.revoke()
    first = Display.objects.get(pk=display.pk).revoked_at
    display.revoke()
    assert first is not None and Display.objects.get(pk=display.pk).revoked_at == first


def test_it_is_alive_for_ten_minutes_after_a_poll(operator, make_display) -> None:
    display, _ = make_display(operator)
    now = timezone.now()
    assert not display.alive(now)
    display.seen(now)
    assert Display.objects.get(pk=display.pk).alive(now + ALIVE_FOR - timedelta(seconds=1))
    assert not Display.objects.get(pk=display.pk).alive(now + ALIVE_FOR)


def test_polls_write_last_seen_at_most_once_a_minute(operator, make_display, django_assert_num_queries) -> None:
    display, _ = make_display(operator)
    now = timezone.now()
    display.seen(now)
    with django_assert_num_queries(0):
        display.seen(now + timedelta(seconds=59))
    with django_assert_num_queries(1):
        display.seen(now + timedelta(seconds=61))
    assert Display.objects.get(pk=display.pk).last_seen_at == now + timedelta(seconds=61)
