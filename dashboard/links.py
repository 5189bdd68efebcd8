"""Paths of the pages, for the hot paths of a page: rows link to their pages and lists many times a page,
and `reverse()` costs about 0.1 ms a call."""

import functools
import re

from django.urls import get_script_prefix, reverse


def list_url(name: str) -> str:
    """A list page's path, reversed once per script prefix: rows link to their filtered lists many times a page."""
    return reversed_once(name, get_script_prefix())


def detail_url(name: str, uid: str) -> str:
    """A row's page: the path reversed once per script prefix with the uid put in, for a uid of
    letters, digits, "-" and "_" (Palette's are hex), which reverse() would not quote; else reverse()."""
    if not PLAIN_UID.fullmatch(uid):
        return reverse(name, args=[uid])
    head, _, tail = reversed_once(name, get_script_prefix(), UID_MARK).rpartition(UID_MARK)
    return head + uid + tail


@functools.cache
def reversed_once(name: str, prefix: str, *args: str) -> str:
    return reverse(name, args=args)


UID_MARK = "0uid0"  # stands for the uid in a reversed path
PLAIN_UID = re.compile(r"[A-Za-z0-9_-]+")
